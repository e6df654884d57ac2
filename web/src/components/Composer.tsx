import { useEffect, useRef, useState } from "preact/hooks";
import { Icon } from "./icons";

interface ComposerProps {
  busy: boolean;
  disabled: boolean;
  onSend: (text: string) => void;
  onStop: () => void;
}

/** Largest height the input grows to before it scrolls, px (matches chat.css). */
const MAX_HEIGHT = 240;

/** The message input: Enter sends, Shift+Enter is a newline, Esc stops, `/` anywhere focuses it. */
export function Composer({ busy, disabled, onSend, onStop }: ComposerProps) {
  const [text, setText] = useState("");
  const input = useRef<HTMLTextAreaElement>(null);

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape" && busy) {
        event.preventDefault();
        onStop();
        return;
      }
      const target = event.target as HTMLElement | null;
      const typing = target?.closest("input, textarea, select, [contenteditable='true']");
      if (event.key === "/" && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
        event.preventDefault();
        input.current?.focus();
      }
    };
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [busy, onStop]);

  // Grows with its content. Heights are set through the rows attribute, not a style attribute:
  // the CSP allows no inline style.
  useEffect(() => {
    const element = input.current;
    if (!element) return;
    element.rows = 1;
    const lineHeight = parseFloat(getComputedStyle(element).lineHeight) || 24;
    const rows = Math.ceil((Math.min(element.scrollHeight, MAX_HEIGHT) - 16) / lineHeight);
    element.rows = Math.max(1, rows);
  }, [text]);

  const send = () => {
    if (busy || disabled || text.trim() === "") return;
    onSend(text);
    setText("");
  };

  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label class="visually-hidden" for="composer-input">
        Message
      </label>
      <textarea
        id="composer-input"
        ref={input}
        class="composer-input"
        data-testid="composer"
        placeholder="Send a message"
        rows={1}
        value={text}
        autoFocus
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            send();
          }
        }}
      />
      {busy ? (
        <button
          type="button"
          class="composer-button composer-stop"
          data-testid="stop"
          aria-label="Stop"
          onClick={onStop}
        >
          <Icon name="stop" />
        </button>
      ) : (
        <button
          type="submit"
          class="composer-button"
          data-testid="send"
          aria-label="Send"
          disabled={disabled || text.trim() === ""}
        >
          <Icon name="send" />
        </button>
      )}
    </form>
  );
}
