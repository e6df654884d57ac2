import { useLayoutEffect, useMemo, useRef } from "preact/hooks";
import { renderMarkdown } from "../markdown/render";

/**
 * Model text as sanitized markdown: the one place HTML from a model reaches the page (see
 * markdown/render.ts). Code blocks get their language label and Copy button here, built as DOM
 * nodes with text content after sanitizing, so nothing added is ever parsed as HTML.
 */
export function Markdown({ source }: { source: string }) {
  const html = useMemo(() => renderMarkdown(source), [source]);
  const root = useRef<HTMLDivElement>(null);

  useLayoutEffect(() => {
    for (const block of root.current?.querySelectorAll<HTMLElement>(".code-block") ?? []) {
      if (block.firstElementChild?.classList.contains("code-head")) continue;
      const head = document.createElement("div");
      head.className = "code-head";
      const label = document.createElement("span");
      label.className = "code-lang";
      label.textContent = block.dataset.lang || "text";
      const copy = document.createElement("button");
      copy.type = "button";
      copy.className = "code-copy";
      copy.dataset.testid = "code-copy";
      copy.textContent = "Copy";
      copy.setAttribute("aria-label", `Copy ${label.textContent} code`);
      head.append(label, copy);
      block.prepend(head);
    }
  }, [html]);

  const onClick = (event: MouseEvent) => {
    const button = (event.target as Element | null)?.closest?.(".code-copy");
    if (!(button instanceof HTMLButtonElement)) return;
    const code = button.closest(".code-block")?.querySelector("pre")?.textContent ?? "";
    navigator.clipboard.writeText(code).then(
      () => {
        button.textContent = "Copied";
        setTimeout(() => (button.textContent = "Copy"), 1500);
      },
      () => {
        button.textContent = "Copy failed";
      },
    );
  };

  return <div class="markdown" ref={root} onClick={onClick} dangerouslySetInnerHTML={{ __html: html }} />;
}
