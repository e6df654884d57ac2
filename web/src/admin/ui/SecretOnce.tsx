import { useEffect, useRef, useState } from "preact/hooks";
import { Icon } from "../../components/icons";

interface SecretOnceProps {
  /** What the secret is ("Password for bob", "API key ci-bot"). */
  label: string;
  value: string;
  onDismiss: () => void;
}

/**
 * A secret the server will never show again (a generated password, a new API key): shown once,
 * selectable, with a Copy button, until the person says they have saved it.
 */
export function SecretOnce({ label, value, onDismiss }: SecretOnceProps) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, [value]);

  const copy = () => {
    navigator.clipboard.writeText(value).then(
      () => setCopied("yes"),
      () => {
        input.current?.select();
        setCopied("failed");
      },
    );
  };

  return (
    <section class="secret-once" data-testid="secret-once" aria-labelledby="secret-once-label">
      <p id="secret-once-label" class="secret-once-label">
        {label}
      </p>
      <p class="secret-once-hint">Copy it now: it will not be shown again.</p>
      <div class="secret-once-row">
        <input
          ref={input}
          class="secret-once-value"
          data-testid="secret-value"
          aria-labelledby="secret-once-label"
          readOnly
          value={value}
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" class="button" data-testid="secret-copy" onClick={copy}>
          <Icon name="copy" /> {copied === "yes" ? "Copied" : "Copy"}
        </button>
        <button type="button" class="button button-primary" data-testid="secret-dismiss" onClick={onDismiss}>
          Done
        </button>
      </div>
      <p class="secret-once-status" role="status">
        {copied === "yes"
          ? "Copied to the clipboard."
          : copied === "failed"
            ? "Copy failed: select it and press Ctrl+C."
            : ""}
      </p>
    </section>
  );
}
