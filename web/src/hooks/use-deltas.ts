import { useRef } from "preact/hooks";
import { applyDeltas, queueDelta, type DeltaBatch, type DeltaField } from "../answer-deltas";
import type { Message } from "../api/types";

type Update = (apply: (messages: Message[]) => Message[]) => void;

/**
 * Streamed text and reasoning, applied once per animation frame instead of once per token: each
 * render re-parses the answer's markdown, and a fast model sends far more tokens than frames. An
 * answer's first text (and its first reasoning) is applied at once: waiting for the next frame
 * added up to 16 ms to the time to first token a user sees (bench/web-ttft.ts).
 */
export function useDeltas(update: Update) {
  const pending = useRef(new Map<string, DeltaBatch>());
  const frame = useRef(0);
  const started = useRef(new Set<string>());

  const flush = () => {
    frame.current = 0;
    if (pending.current.size === 0) return;
    const batches = pending.current;
    pending.current = new Map();
    update((messages) =>
      messages.map((m) => {
        const batch = batches.get(m.id);
        return batch ? applyDeltas(m, batch) : m;
      }),
    );
  };

  return {
    /**
     * Adds `text` to `field` (default the answer's text) of message `id`; `replace` (a re-attach's
     * first delta or reasoning) replaces what is there.
     */
    push(id: string, text: string, replace = false, field: DeltaField = "content") {
      // Per field: a thinking model's first answer text is the moment the answer starts.
      const key = `${field} ${id}`;
      if (!started.current.has(key)) {
        started.current.add(key);
        if (!pending.current.has(id)) {
          const batch = queueDelta({}, field, text, replace);
          update((messages) => messages.map((m) => (m.id === id ? applyDeltas(m, batch) : m)));
          return;
        }
      }
      pending.current.set(id, queueDelta(pending.current.get(id) ?? {}, field, text, replace));
      frame.current ||= requestAnimationFrame(flush);
    },
    /** Forgets queued text of `id`: a final row from the server supersedes it. */
    drop(id: string) {
      pending.current.delete(id);
    },
  };
}
