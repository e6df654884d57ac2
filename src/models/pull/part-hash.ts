/**
 * The SHA-256 of a blob downloaded as parallel parts, computed in file order while the parts
 * arrive (download.ts). Blocks of the part at the head of the hash are hashed from memory as they
 * arrive. Blocks of parts ahead of it are kept in memory too, up to `budget` bytes in all; past
 * that, a part's further blocks are only written, and read back from the file when the head
 * reaches them (just written, they come from the page cache), as are bytes kept from an earlier
 * run. Memory stays bounded whatever the part size, and nothing is downloaded twice.
 */
import type { FileHandle } from "node:fs/promises";
import { AppError } from "../../errors.js";
import { AsyncQueue, Wakeup } from "../../lib/async-queue.js";
import { createHasher, sharedBlock } from "./hasher.js";
import type { Part } from "./parts.js";

/** Disk read size when hashing bytes already in the file. */
const READ_CHUNK = 4 * 1024 * 1024;

/** Consecutive blocks of one part waiting to be hashed; the next one is at part offset `from`. */
class ChunkQueue {
  private readonly queue = new AsyncQueue<Buffer>();

  constructor(public from: number) {}

  /** False once a block was refused or the part is complete: the queue ends after what it holds. */
  get accepting(): boolean {
    return !this.queue.ended;
  }
  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }
  close(): void {
    this.queue.close();
  }
  fail(error: Error): void {
    this.queue.fail(error);
  }
  /** Next block, or undefined once the queue takes no more and is empty. */
  async next(): Promise<Buffer | undefined> {
    const result = await this.queue.next();
    if (result.done) return undefined;
    this.from += result.value.length;
    return result.value;
  }
}

export interface PartHasher {
  /** `data` of `part` was received and handed to its write; its offset is `part.received - data.length`. */
  offer(part: Part, data: Buffer): void;
  /** Every byte of `part` was received. */
  complete(part: Part): void;
  /** A write completed (`part.written` advanced). */
  changed(): void;
  /** Stops hashing with `error`. */
  fail(error: Error): void;
  /** Hashes every part in order; resolves with the hex digest. */
  run(): Promise<string>;
  close(): void;
}

export function createPartHasher(
  size: number,
  parts: Part[],
  handle: FileHandle,
  budget: number,
): PartHasher {
  const hash = createHasher(size);
  const queues = new Map<number, ChunkQueue>();
  let queued = 0;
  let head = 0;
  let failure: Error | undefined;
  const wakeup = new Wakeup();
  const changed = () => wakeup.notify();

  const hashPart = async (part: Part) => {
    let hashed = 0;
    while (hashed < part.length) {
      if (failure !== undefined) throw failure;
      const queue = queues.get(part.index);
      if (queue && queue.from === hashed) {
        const chunk = await queue.next();
        if (chunk) {
          hash.update(chunk);
          hashed += chunk.length;
          queued -= chunk.length;
        } else {
          queues.delete(part.index);
        }
      } else if (part.written > hashed) {
        // Up to the queue's first byte at most: from there the bytes are in memory.
        const until = Math.min(part.written, queue?.from ?? Infinity);
        // A fresh block per read: the hasher may still be reading the previous one.
        const buffer = sharedBlock(Math.min(READ_CHUNK, until - hashed));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, part.start + hashed);
        if (bytesRead === 0) throw new AppError("internal", "pull: partial file shrank");
        hash.update(buffer.subarray(0, bytesRead));
        hashed += bytesRead;
      } else if (!queue && part.received === hashed) {
        // Caught up with the network: from here this part is hashed from memory as it arrives.
        queues.set(part.index, new ChunkQueue(hashed));
      } else {
        await wakeup.wait();
      }
    }
  };

  return {
    offer(part, data) {
      if (failure !== undefined) return;
      let queue = queues.get(part.index);
      const ahead = part.index !== head;
      if (ahead && queued + data.length > budget) {
        // Over budget: this part's bytes from here are read back from the file.
        queue?.close();
        return;
      }
      if (!queue) {
        queue = new ChunkQueue(part.received - data.length);
        queues.set(part.index, queue);
        changed();
      }
      if (!queue.accepting) return;
      queue.push(data);
      queued += data.length;
    },
    complete(part) {
      queues.get(part.index)?.close();
    },
    changed,
    fail(error) {
      failure ??= error;
      for (const queue of queues.values()) queue.fail(failure);
      changed();
    },
    async run() {
      for (const part of parts) {
        head = part.index;
        await hashPart(part);
      }
      return hash.digest();
    },
    close: () => hash.close(),
  };
}
