import { useRef } from "preact/hooks";
import type { Message } from "../api/types";

type Update = (apply: (messages: Message[]) => Message[]) => void;

/**
 * Streamed text, applied once per animation frame instead of once per token: each render
 * re-parses the answer's markdown, and a fast model sends far more tokens than frames. An
 * answer's first text is applied at once: waiting for the next frame added up to 16 ms to the
 * time to first token a user sees (bench/web-ttft.ts).
 */
export function useDeltas(update: Update) {
  const pending = useRef(new Map<string, { text: string; replace: boolean }>());
  const frame = useRef(0);
  const started = useRef(new Set<string>());

  const flush = () => {
    frame.current = 0;
    if (pending.current.size === 0) return;
    const batch = pending.current;
    pending.current = new Map();
    update((messages) =>
      messages.map((m) => {
        const delta = batch.get(m.id);
        if (!delta) return m;
        return { ...m, content: delta.replace ? delta.text : m.content + delta.text };
      }),
    );
  };

  return {
    /** Adds `text` to message `id`; `replace` (a re-attach's first delta) replaces what is there. */
    push(id: string, text: string, replace = false) {
      if (!started.current.has(id)) {
        started.current.add(id);
        if (!pending.current.has(id)) {
          update((messages) =>
            messages.map((m) => (m.id === id ? { ...m, content: replace ? text : m.content + text } : m)),
          );
          return;
        }
      }
      const queued = pending.current.get(id);
      pending.current.set(
        id,
        replace || !queued ? { text, replace } : { text: queued.text + text, replace: queued.replace },
      );
      frame.current ||= requestAnimationFrame(flush);
    },
    /** Forgets queued text of `id`: a final row from the server supersedes it. */
    drop(id: string) {
      pending.current.delete(id);
    },
  };
}
