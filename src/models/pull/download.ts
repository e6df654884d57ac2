/**
 * Downloads one blob into `blobs/sha256-<hex>-partial`, then renames it into place once its
 * SHA-256 matches. A large blob is fetched as parallel `Range` parts written at their offsets; a
 * small JSON next to the partial file lists the finished parts, so an interrupted pull resumes and
 * transfers only the rest. The hash is computed while downloading, in file order: the part at the
 * head of the file is hashed as its bytes arrive, later parts are held (at most `window` parts)
 * until the head reaches them. Parts finished by an earlier run are hashed from disk once.
 */
import { open, readFile, rename, stat, unlink, writeFile, mkdir, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { AppError } from "../../errors.js";
import { blobPath, digestHex, type Digest } from "../manifest.js";
import { createHasher, sharedBlock } from "./hasher.js";
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

/**
 * Received bytes are copied into blocks of this size; each full block is one pwrite and one
 * hash update (responses arrive in 16–256 KiB reads).
 */
const BLOCK = 4 * 1024 * 1024;
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

/** One part's received blocks waiting to be hashed, in order. */
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
      const header = response.headers["content-range"] ?? "";
      const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header);
      if (!match || Number(match[1]) !== start || Number(match[2]) !== end) {
        response.discard();
        throw new AppError("registry_error", `pull: wrong Content-Range ${JSON.stringify(header)}`);
      }
    }
    const declared = response.headers["content-length"];
    if (declared !== undefined && Number(declared) !== expected) {
      response.discard();
      throw new AppError("registry_error", `pull: blob ${digest} is ${declared} bytes, not ${expected}`);
    }
    let received = 0;
    const overflow = Buffer.allocUnsafe(1);
    let block: Buffer | undefined;
    let filled = 0;
    let position = start;
    // Writes stay in flight while the next bytes arrive; a part's blocks are bounded by its size
    // and the parts ahead of the hash by `window`.
    const writes: Promise<void>[] = [];
    const submit = () => {
      if (block === undefined || filled === 0) return;
      const data = filled === block.length ? block : block.subarray(0, filled);
      const write = handle.write(data, 0, data.length, position).then(() => undefined);
      write.catch(() => undefined); // awaited below; this only marks it handled meanwhile
      writes.push(write);
      queue.push(data);
      position += data.length;
      block = undefined;
      filled = 0;
    };
    try {
      await response.read({
        space() {
          // Past the part's end only a misbehaving server sends more: read it aside, commit refuses it.
          if (position + filled > end) return overflow;
          block ??= sharedBlock(Math.min(BLOCK, end + 1 - position));
          return block.subarray(filled);
        },
        commit(length) {
          received += length;
          if (received > expected) {
            throw new AppError("registry_error", `pull: blob ${digest} is longer than its declared size`);
          }
          filled += length;
          if (filled === block?.length) submit();
          completed += length;
          request.onProgress(completed);
        },
      });
      submit();
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

  const hash = createHasher(size);
  const hashAll = async () => {
    for (hashIndex = 0; hashIndex < count; hashIndex++) {
      schedule();
      if (resumed.has(hashIndex)) {
        const { start, end } = range(hashIndex);
        for (let pos = start; pos <= end;) {
          // A fresh block per read: the hasher may still be reading the previous one.
          const buffer = sharedBlock(Math.min(READ_CHUNK, end - pos + 1));
          const length = buffer.length;
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
    await saving.catch(() => undefined);
    if (failure !== undefined) throw failure;
    const actual = await hash.digest();
    if (actual !== digestHex(digest)) {
      await handle.close();
      await removeQuietly(partial);
      await removeQuietly(statePath);
      throw new AppError("digest_mismatch", `digest mismatch: expected ${digest}, got sha256:${actual}`);
    }
    // No fsync of the data, as Ollama: it would cap a pull at the disk's synchronous write speed
    // (~400 MB/s here, below the network) for a file that can be fetched again. The rename is
    // atomic against a crash of the process; after a power loss ext4 (data=ordered) shows an
    // unwritten blob short or empty, never with stale bytes, and both the puller (size check) and
    // the store (GGUF validation when listing and loading) refuse a short blob.
    await handle.close();
    await rename(partial, target);
    await removeQuietly(statePath);
    const dir = await open(dirname(target), "r");
    await dir.sync().finally(() => dir.close());
  } finally {
    request.signal.removeEventListener("abort", onAbort);
    hash.close();
    await handle.close().catch(() => undefined);
  }
}
