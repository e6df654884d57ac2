/**
 * Downloads one blob into `blobs/sha256-<hex>-partial`, then renames it into place once its
 * SHA-256 matches. A large blob is fetched as parallel `Range` parts written at their offsets; a
 * small JSON next to the partial file lists the finished parts, so an interrupted pull resumes and
 * transfers only the rest. The hash is computed while downloading, in file order: the part at the
 * head of the file is hashed as its bytes arrive, later parts are held (at most `window` parts)
 * until the head reaches them. Parts finished by an earlier run are hashed from disk once.
 */
import { createHash } from "node:crypto";
import { open, readFile, rename, stat, unlink, writeFile, mkdir, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { AppError } from "../../errors.js";
import { blobPath, digestHex, type Digest } from "../manifest.js";
import type { RegistrySession } from "./registry.js";

export interface PartOptions {
  /** Blobs at least this large are fetched as parallel Range parts, bytes. */
  multipartThreshold: number;
  /** Size of one Range part, bytes. */
  partSize: number;
  /** Parts downloading at once. */
  concurrency: number;
}

export interface DownloadRequest extends PartOptions {
  root: string;
  digest: Digest;
  size: number;
  session: RegistrySession;
  signal: AbortSignal;
  /** Bytes of the blob now on disk (finished parts plus bytes received). */
  onProgress(completed: number): void;
}

/** Writes are gathered to this size before one pwrite (responses arrive in 16–64 KiB chunks). */
const WRITE_BATCH = 1024 * 1024;
/** Batches being written at once per part. */
const WRITES_IN_FLIGHT = 8;
/**
 * Bytes written between two background fdatasync calls. The kernel would otherwise hold a whole
 * multi-GB blob dirty until the final fsync and write it only then; flushing as we go overlaps the
 * disk with the network, so the final fsync has only the tail left.
 */
const SYNC_EVERY = 64 * 1024 * 1024;
/** Disk read size when hashing parts finished by an earlier run. */
const READ_CHUNK = 4 * 1024 * 1024;

interface PartState {
  size: number;
  partSize: number;
  done: number[];
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch((error: unknown) => {
    if (!isMissing(error)) throw error;
  });
}

/** One part's received bytes waiting to be hashed, in order. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  private ended = false;
  private failed: Error | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.notify();
  }
  end(): void {
    this.ended = true;
    this.notify();
  }
  fail(error: Error): void {
    this.failed = error;
    this.notify();
  }
  private notify(): void {
    this.wake?.();
    this.wake = undefined;
  }
  /** Next chunk, or undefined once the part has ended. */
  async next(): Promise<Buffer | undefined> {
    for (;;) {
      if (this.failed !== undefined) throw this.failed;
      const chunk = this.chunks.shift();
      if (chunk) return chunk;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

async function loadState(path: string, size: number, partSize: number, parts: number): Promise<Set<number>> {
  try {
    const state = JSON.parse(await readFile(path, "utf8")) as Partial<PartState>;
    if (state.size !== size || state.partSize !== partSize || !Array.isArray(state.done)) return new Set();
    return new Set(state.done.filter((i) => Number.isInteger(i) && i >= 0 && i < parts));
  } catch {
    // Missing or unreadable: start over; the digest check guards against anything stale.
    return new Set();
  }
}

export async function downloadBlob(request: DownloadRequest): Promise<void> {
  const { root, digest, size, session } = request;
  const target = blobPath(root, digest);
  const partial = `${target}-partial`;
  const statePath = `${partial}.json`;
  const multipart = size >= request.multipartThreshold;
  const partSize = multipart ? request.partSize : Math.max(size, 1);
  const count = Math.max(1, Math.ceil(size / partSize));
  const window = request.concurrency * 2;
  const range = (i: number) => ({ start: i * partSize, end: Math.min(size, (i + 1) * partSize) - 1 });

  await mkdir(dirname(partial), { recursive: true });
  let done = await loadState(statePath, size, partSize, count);
  const existing = await stat(partial).catch(() => undefined);
  if (!existing?.isFile() || existing.size !== size) done = new Set();
  let handle: FileHandle;
  if (done.size > 0) {
    handle = await open(partial, "r+");
  } else {
    handle = await open(partial, "w");
    await handle.truncate(size);
  }
  const resumed = new Set(done);

  let saving = Promise.resolve();
  const saveState = () => {
    const body = JSON.stringify({
      size,
      partSize,
      done: [...done].sort((a, b) => a - b),
    } satisfies PartState);
    // Temp + rename without fsync: a lost state file only costs a re-download, and the digest
    // check catches parts whose bytes did not reach the disk.
    saving = saving.then(async () => {
      const temp = `${statePath}.tmp`;
      await writeFile(temp, body);
      await rename(temp, statePath);
    });
    return saving;
  };

  const controller = new AbortController();
  const onAbort = () => controller.abort(request.signal.reason);
  if (request.signal.aborted) onAbort();
  request.signal.addEventListener("abort", onAbort, { once: true });

  let completed = [...resumed].reduce((sum, i) => sum + range(i).end - range(i).start + 1, 0);
  if (size === 0) completed = 0;
  request.onProgress(completed);

  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  const written = (bytes: number) => {
    unsynced += bytes;
    if (unsynced < SYNC_EVERY || syncing) return;
    unsynced = 0;
    syncing = handle
      .datasync()
      .catch(() => undefined) // the final sync reports a failing disk
      .finally(() => (syncing = undefined));
  };

  const queues = new Map<number, ChunkQueue>();
  let hashIndex = 0;
  let nextPart = 0;
  let running = 0;
  let failure: Error | undefined;
  const asError = (error: unknown): Error =>
    error instanceof Error ? error : new AppError("internal", "pull: download failed", { cause: error });
  const tasks: Promise<void>[] = [];
  let wakeScheduler: (() => void) | undefined;

  const fetchPart = async (i: number, queue: ChunkQueue) => {
    const { start, end } = range(i);
    const expected = size === 0 ? 0 : end - start + 1;
    const response = await session.blob(digest, multipart ? { start, end } : undefined, controller.signal);
    if (multipart) {
      const header = String(response.headers["content-range"] ?? "");
      const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header);
      if (!match || Number(match[1]) !== start || Number(match[2]) !== end) {
        response.destroy();
        throw new AppError("registry_error", `pull: wrong Content-Range ${JSON.stringify(header)}`);
      }
    }
    let received = 0;
    let batch: Buffer[] = [];
    let batchBytes = 0;
    let position = start;
    // A few writes stay in flight while the next bytes arrive: awaiting each one would stall the
    // socket for every write(2) in the thread pool.
    const writes: Promise<void>[] = [];
    const flush = async () => {
      if (batchBytes === 0) return;
      // writev: the chunks go to the kernel as they are, without a copy into one buffer.
      const data = batch;
      const length = batchBytes;
      batch = [];
      batchBytes = 0;
      const write = handle.writev(data, position).then(() => written(length));
      write.catch(() => undefined); // awaited below; this only marks it handled meanwhile
      writes.push(write);
      position += length;
      if (writes.length >= WRITES_IN_FLIGHT) await writes.shift();
    };
    try {
      for await (const raw of response) {
        const chunk = raw as Buffer;
        received += chunk.length;
        if (received > expected) {
          response.destroy();
          throw new AppError("registry_error", `pull: blob ${digest} is longer than its declared size`);
        }
        queue.push(chunk);
        batch.push(chunk);
        batchBytes += chunk.length;
        completed += chunk.length;
        request.onProgress(completed);
        if (batchBytes >= WRITE_BATCH) await flush();
      }
      await flush();
      await Promise.all(writes);
    } catch (error) {
      // The handle must not be closed under a write still running.
      await Promise.allSettled(writes);
      throw error;
    }
    if (received !== expected) {
      throw new AppError(
        "registry_error",
        `pull: blob ${digest} ended after ${received} of ${expected} bytes`,
      );
    }
    queue.end();
    done.add(i);
    await saveState();
  };

  const schedule = () => {
    while (failure === undefined && running < request.concurrency && nextPart < count) {
      if (resumed.has(nextPart)) {
        nextPart++;
        continue;
      }
      if (nextPart >= hashIndex + window) break;
      const i = nextPart++;
      const queue = new ChunkQueue();
      queues.set(i, queue);
      running++;
      tasks.push(
        fetchPart(i, queue)
          .catch((error: unknown) => {
            failure ??= asError(error);
            queue.fail(failure);
            controller.abort(error);
          })
          .finally(() => {
            running--;
            schedule();
            wakeScheduler?.();
          }),
      );
    }
  };

  const hash = createHash("sha256");
  const hashAll = async () => {
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(partSize, 1)));
    for (hashIndex = 0; hashIndex < count; hashIndex++) {
      schedule();
      if (resumed.has(hashIndex)) {
        const { start, end } = range(hashIndex);
        for (let pos = start; pos <= end;) {
          const length = Math.min(buffer.length, end - pos + 1);
          const { bytesRead } = await handle.read(buffer, 0, length, pos);
          if (bytesRead === 0) throw new AppError("internal", "pull: partial file shrank");
          hash.update(buffer.subarray(0, bytesRead));
          pos += bytesRead;
        }
        continue;
      }
      while (!queues.has(hashIndex)) {
        if (failure !== undefined) throw failure;
        await new Promise<void>((resolve) => (wakeScheduler = resolve));
      }
      const queue = queues.get(hashIndex) as ChunkQueue;
      for (let chunk = await queue.next(); chunk; chunk = await queue.next()) hash.update(chunk);
      queues.delete(hashIndex);
    }
  };

  try {
    try {
      await hashAll();
    } catch (error) {
      failure ??= asError(error);
      controller.abort(failure);
    }
    await Promise.allSettled(tasks);
    await syncing;
    await saving.catch(() => undefined);
    if (failure !== undefined) throw failure;
    const actual = hash.digest("hex");
    if (actual !== digestHex(digest)) {
      await handle.close();
      await removeQuietly(partial);
      await removeQuietly(statePath);
      throw new AppError("digest_mismatch", `digest mismatch: expected ${digest}, got sha256:${actual}`);
    }
    await handle.sync();
    await handle.close();
    await rename(partial, target);
    await removeQuietly(statePath);
    const dir = await open(dirname(target), "r");
    await dir.sync().finally(() => dir.close());
  } finally {
    request.signal.removeEventListener("abort", onAbort);
    await handle.close().catch(() => undefined);
  }
}
