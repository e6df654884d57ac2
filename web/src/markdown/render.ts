import { Marked } from "marked";
import { highlight } from "./highlight";
import { sanitize } from "./sanitize";

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * Fenced code becomes `<div class="code-block" data-lang>` around a highlighted `<pre>`; the
 * language label and Copy button are added by the Markdown component as DOM nodes after
 * sanitizing (components/Markdown.tsx), never as HTML. Raw HTML in the source (a model writing
 * `<img onerror=…>`, `<svg onload=…>`, `</script>`) is shown as the text it is, not rendered
 * even sanitized: a model's output is never markup. DOMPurify still cleans the final HTML.
 */
const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    code({ text, lang }) {
      const language = (lang ?? "").trim().split(/\s+/)[0]?.toLowerCase() ?? "";
      const body = highlight(text, language) ?? escapeHtml(text);
      const safeLang = escapeHtml(language);
      return `<div class="code-block" data-lang="${safeLang}"><pre><code class="hljs${
        language ? ` language-${safeLang}` : ""
      }">${body}</code></pre></div>`;
    },
  },
});

/** Markdown → sanitized HTML: the only HTML the app ever builds from model output. */
export function renderMarkdown(source: string): string {
  const html = marked.parse(source, { async: false });
  return sanitize(html);
}
