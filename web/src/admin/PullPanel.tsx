import { useState } from "preact/hooks";
import { formatBytes } from "./format";
import type { Pull } from "./use-pulls";
import { Badge } from "./ui/Badge";

interface PullPanelProps {
  pulls: Pull[];
  onStart: (name: string, insecure: boolean) => void;
  onCancel: (id: number) => void;
  onDismiss: (id: number) => void;
}

const TONES = { running: "muted", done: "ok", error: "bad", cancelled: "warn" } as const;

/** Pull a model by name; every pull in progress with one bar per layer. */
export function PullPanel(props: PullPanelProps) {
  const [name, setName] = useState("");
  const [insecure, setInsecure] = useState(false);
  return (
    <section class="card-form" aria-labelledby="pull-title">
      <h3 id="pull-title" class="section-title">
        Pull a model
      </h3>
      <form
        class="inline-form"
        data-testid="pull-form"
        onSubmit={(e) => {
          e.preventDefault();
          props.onStart(name.trim(), insecure);
          setName("");
        }}
      >
        <label class="field field-grow">
          <span class="field-label">Model name</span>
          <input
            data-testid="pull-name"
            required
            placeholder="llama3.2:1b or registry.example.com/library/model:tag"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label class="check">
          <input
            type="checkbox"
            data-testid="pull-insecure"
            checked={insecure}
            onChange={(e) => setInsecure(e.currentTarget.checked)}
          />
          <span>Plain HTTP registry</span>
        </label>
        <button
          type="submit"
          class="button button-primary"
          data-testid="pull-submit"
          disabled={name.trim() === ""}
        >
          Pull
        </button>
      </form>
      {props.pulls.length > 0 && (
        <ul class="pull-list" aria-label="Pulls">
          {props.pulls.map((pull) => (
            <li
              key={pull.id}
              class="pull-item"
              data-testid="pull-item"
              data-name={pull.name}
              data-state={pull.state}
            >
              <div class="pull-head">
                <strong class="pull-name">{pull.name}</strong>
                <Badge tone={TONES[pull.state]}>{pull.state}</Badge>
                <span class="pull-message" data-testid="pull-message" aria-live="polite">
                  {pull.message}
                </span>
                {pull.state === "running" ? (
                  <button
                    type="button"
                    class="button button-small"
                    data-testid="pull-cancel"
                    onClick={() => props.onCancel(pull.id)}
                  >
                    Cancel
                  </button>
                ) : (
                  <button
                    type="button"
                    class="button button-small button-ghost"
                    data-testid="pull-dismiss"
                    onClick={() => props.onDismiss(pull.id)}
                  >
                    Dismiss
                  </button>
                )}
              </div>
              {pull.layers.map((layer) => (
                <div
                  key={layer.digest}
                  class="pull-layer"
                  data-testid="pull-layer"
                  data-completed={layer.completed}
                >
                  <span class="pull-digest">{layer.digest.replace(/^sha256:/, "").slice(0, 12)}</span>
                  <progress
                    max={layer.total || 1}
                    value={layer.completed}
                    aria-label={`Layer ${layer.digest.slice(7, 19)}`}
                  />
                  <span class="pull-bytes">
                    {formatBytes(layer.completed)} / {formatBytes(layer.total)}
                  </span>
                </div>
              ))}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
