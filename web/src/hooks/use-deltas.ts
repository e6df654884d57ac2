import { useRef } from "preact/hooks";
import type { Message } from "../api/types";

type Update = (apply: (messages: Message[]) => Message[]) => void;

/** The streamed fields of an answer: its text, and a thinking model's reasoning. */
type Field = "content" | "thinking";

interface Pending {
  text: string;
  replace: boolean;
}

type Batch = Partial<Record<Field, Pending>>;

function applyBatch(message: Message, batch: Batch): Message {
  const out = { ...message };
  for (const field of ["content", "thinking"] as const) {
    const delta = batch[field];
    if (delta) out[field] = delta.replace ? delta.text : (message[field] ?? "") + delta.text;
  }
  return out;
}

/**
 * Streamed text, applied once per animation frame instead of once per token: each render
 * re-parses the answer's markdown, and a fast model sends far more tokens than frames. An
 * answer's first text (and first reasoning) is applied at once: waiting for the next frame added up to 16 ms to the
 * time to first token a user sees (bench/web-ttft.ts).
 */
export function useDeltas(update: Update) {
  const pending = useRef(new Map<string, Batch>());
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
        return batch ? applyBatch(m, batch) : m;
      }),
    );
  };

  return {
    /**
     * Adds `text` to `field` (default the answer's text) of message `id`; `replace` (a re-attach's
     * first delta or reasoning) replaces what is there.
     */
    push(id: string, text: string, replace = false, field: Field = "content") {
      // Per field: a thinking model's first answer text is the moment the answer starts.
      const key = `${field} ${id}`;
      if (!started.current.has(key)) {
        started.current.add(key);
        if (!pending.current.has(id)) {
          const batch: Batch = { [field]: { text, replace } };
          update((messages) => messages.map((m) => (m.id === id ? applyBatch(m, batch) : m)));
          return;
        }
      }
      const batch = pending.current.get(id) ?? {};
      const queued = batch[field];
      batch[field] =
        replace || !queued ? { text, replace } : { text: queued.text + text, replace: queued.replace };
      pending.current.set(id, batch);
      frame.current ||= requestAnimationFrame(flush);
    },
    /** Forgets queued text of `id`: a final row from the server supersedes it. */
    drop(id: string) {
      pending.current.delete(id);
    },
  };
}
