/**
 * SHA-256 of a blob being downloaded, computed on a worker thread for large blobs. Hashing runs
 * at ~1.5 GB/s on one core here; on the main thread it would sit in series with receiving, so a
 * pull could never keep up with the network. The blocks the downloader fills are
 * SharedArrayBuffer-backed, so the worker reads them in place: nothing is copied or transferred.
 * Updates are applied in the order they are sent (one message port is ordered).
 */
import { createHash } from "node:crypto";
import { Worker } from "node:worker_threads";
import { AppError } from "../../errors.js";

export interface Hasher {
  /** Adds `data`, which must not change until digest() resolves. */
  update(data: Uint8Array): void;
  /** Hex digest of everything added. */
  digest(): Promise<string>;
  /** Stops the worker (idempotent; digest() calls it). */
  close(): void;
}

/** Blobs at least this large are hashed on a worker (starting one costs a few ms). */
export const WORKER_HASH_MIN = 16 * 1024 * 1024;

// Plain CommonJS so it runs the same from dist/ and under tsx/vitest (no loader in the worker).
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const hash = createHash("sha256");
parentPort.on("message", (m) => {
  if (m.buffer) hash.update(new Uint8Array(m.buffer, m.byteOffset, m.length));
  else parentPort.postMessage(hash.digest("hex"));
});
`;

/** Memory for a block the socket fills and the hash worker reads in place. */
export function sharedBlock(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

function inlineHasher(): Hasher {
  const hash = createHash("sha256");
  return {
    update: (data) => void hash.update(data),
    digest: () => Promise.resolve(hash.digest("hex")),
    close: () => undefined,
  };
}

function workerHasher(): Hasher {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  worker.unref();
  let failure: Error | undefined;
  worker.once("error", (error) => (failure = error));
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    void worker.terminate();
  };
  return {
    update(data) {
      if (!(data.buffer instanceof SharedArrayBuffer)) {
        // A copy keeps the contract for callers that pass ordinary memory.
        const copy = sharedBlock(data.length);
        copy.set(data);
        data = copy;
      }
      worker.postMessage({ buffer: data.buffer, byteOffset: data.byteOffset, length: data.length });
    },
    digest() {
      return new Promise<string>((resolve, reject) => {
        if (failure) return reject(failure);
        const onError = (error: Error) => reject(error);
        worker.once("error", onError);
        worker.once("message", (hex: string) => {
          worker.off("error", onError);
          close();
          resolve(hex);
        });
        worker.once("exit", () => reject(new AppError("internal", "pull: hash worker exited")));
        worker.postMessage({});
      });
    },
    close,
  };
}

/** A hasher for a blob of `size` bytes. */
export function createHasher(size: number): Hasher {
  return size >= WORKER_HASH_MIN ? workerHasher() : inlineHasher();
}
