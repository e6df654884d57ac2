/**
 * Streamed pieces of an answer (docs/web-app.md, Streams) gathered between renders: its text
 * (`delta` lines) and a thinking model's reasoning (`thinking` lines), each appended to what the
 * message holds or, for a re-attach's first line, replacing it.
 */
import type { Message } from "./api/types";

/** The streamed fields of an answer. */
export type DeltaField = "content" | "thinking";

interface Pending {
  text: string;
  replace: boolean;
}

/** What arrived for one message since the last render, per field. */
export type DeltaBatch = Partial<Record<DeltaField, Pending>>;

/** Adds `text` to `batch`'s `field`: a replacing piece drops what was queued before it. */
export function queueDelta(batch: DeltaBatch, field: DeltaField, text: string, replace: boolean): DeltaBatch {
  const queued = batch[field];
  return {
    ...batch,
    [field]: replace || !queued ? { text, replace } : { text: queued.text + text, replace: queued.replace },
  };
}

/** `message` with `batch` applied. */
export function applyDeltas(message: Message, batch: DeltaBatch): Message {
  const out = { ...message };
  for (const field of ["content", "thinking"] as const) {
    const delta = batch[field];
    if (delta) out[field] = delta.replace ? delta.text : (message[field] ?? "") + delta.text;
  }
  return out;
}
