import { useEffect, useState } from "preact/hooks";

/**
 * A thinking model's reasoning, folded above its answer: open while only reasoning has streamed,
 * folded once the answer starts (a click opens it again). Shown as plain text, never as HTML: it
 * is model output like the answer, and unlike the answer it is not run through the markdown
 * sanitizer (markdown/render.ts).
 */
export function ThinkingBlock({
  text,
  answered,
  streaming,
}: {
  text: string;
  /** The answer's text (or a tool call) has started. */
  answered: boolean;
  streaming: boolean;
}) {
  const [open, setOpen] = useState(!answered);
  useEffect(() => {
    if (answered) setOpen(false);
  }, [answered]);
  return (
    <details
      class="fold thinking"
      open={open}
      data-testid="thinking"
      onToggle={(event) => setOpen(event.currentTarget.open)}
    >
      <summary>{streaming && !answered ? "Thinking…" : "Thinking"}</summary>
      {/* Reasoning usually opens and ends with a blank line inside its tags. */}
      <div class="fold-body thinking-body">{text.trim()}</div>
    </details>
  );
}
