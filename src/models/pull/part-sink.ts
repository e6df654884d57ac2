/**
 * Where one Range part's bytes go (download.ts): into 4 MiB shared blocks that the socket fills in
 * place, each full block one positioned write and one hash update from the same memory
 * (part-hash.ts). Tracks how far the part was received and how far its writes
 * have completed in order (what a retry and a restart resume from).
 */
import { AppError } from "../../errors.js";
import { sharedBlock } from "./hasher.js";
import type { Part } from "./parts.js";
import type { BodySink } from "./transport.js";

/**
 * Received bytes are copied into blocks of this size; each full block is one pwrite and one
 * hash update (responses arrive in 16–256 KiB reads).
 */
const BLOCK = 4 * 1024 * 1024;

export interface SinkHooks {
  /** Writes `data` at `position` of the file (failures are the caller's to handle). */
  write(data: Buffer, position: number): Promise<void>;
  /** `data` was received and handed to write() (for the hash). */
  offer(data: Buffer): void;
  /** `length` more bytes arrived. */
  received(length: number): void;
  /** `part.written` advanced. */
  written(): void;
}

/** Writes of a part not yet completed in order, across its attempts. */
const pendingWrites = new WeakMap<Part, { end: number; done: boolean }[]>();

export function partSink(part: Part, digest: string, hooks: SinkHooks): BodySink & { flush(): void } {
  const overflow = Buffer.allocUnsafe(1);
  let block: Buffer | undefined;
  let filled = 0;
  const pending = pendingWrites.get(part) ?? [];
  pendingWrites.set(part, pending);

  const flush = () => {
    if (block === undefined || filled === 0) return;
    const data = filled === block.length ? block : block.subarray(0, filled);
    const position = part.start + part.received;
    part.received += data.length;
    const entry = { end: part.received, done: false };
    pending.push(entry);
    hooks.write(data, position).then(
      () => {
        entry.done = true;
        for (let first = pending[0]; first?.done; first = pending[0]) {
          pending.shift();
          part.written = first.end;
        }
        hooks.written();
      },
      () => undefined,
    );
    hooks.offer(data);
    block = undefined;
    filled = 0;
  };

  return {
    space() {
      // Past the part's end only a misbehaving server sends more: read it aside, commit refuses it.
      if (part.received + filled >= part.length) return overflow;
      block ??= sharedBlock(Math.min(BLOCK, part.length - part.received));
      return block.subarray(filled);
    },
    commit(length) {
      if (part.received + filled + length > part.length) {
        throw new AppError("registry_error", `pull: blob ${digest} is longer than its declared size`);
      }
      filled += length;
      if (filled === block?.length) flush();
      hooks.received(length);
    },
    flush,
  };
}
