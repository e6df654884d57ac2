/**
 * Downloads one blob into `blobs/sha256-<hex>-partial`, then renames it into place once its
 * SHA-256 matches. The blob is fetched as Range parts (parts.ts sizes them), a few at once, each
 * written at its offset; a part cut by a reset, a timeout or a 5xx is tried again from the byte it
 * reached, after a growing pause. The JSON beside the partial file records how far each part got,
 * so a pull interrupted for good (a full disk, a killed process) resumes at those bytes too.
 *
 * The hash is computed in file order while downloading (part-hash.ts).
 */
import { mkdir, open, rename, stat, statfs, unlink, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { AppError } from "../../errors.js";
import type { Logger } from "../../logger.js";
import { blobPath, digestHex, type Digest } from "../manifest.js";
import { TransientError } from "./connection.js";
import { createPartHasher } from "./part-hash.js";
import { isNoSpace, loadState, planParts, saveState, type Part, type PartSizing } from "./parts.js";
import { partSink } from "./part-sink.js";
import type { RegistrySession } from "./registry.js";

export interface PartOptions extends PartSizing {
  /** Parts downloading at once. */
  concurrency: number;
  /** Tries per part before the pull fails, the first included. */
  attempts: number;
  /** Pause before the first retry of a part, ms; doubled for each further one, up to 32×. */
  backoffMs: number;
}

export interface DownloadRequest extends PartOptions {
  root: string;
  digest: Digest;
  size: number;
  session: RegistrySession;
  signal: AbortSignal;
  logger: Logger;
  /** The store's directory as messages name it (relative to the aixcl home). */
  storeLabel: string;
  /** Bytes of the blob now received (kept from earlier runs included). */
  onProgress(completed: number): void;
}

/**
 * Memory for received blocks of parts ahead of the hash, bytes (the head part's are not counted:
 * they are hashed at once). Past it, blocks are read back from the file when hashed.
 */
const HASH_AHEAD_BUDGET = 128 * 1024 * 1024;
/** Least time between two saves of the state file while bytes arrive, ms. */
const SAVE_INTERVAL_MS = 1000;

async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException | undefined)?.code !== "ENOENT") throw error;
  });
}

/** pwrite may write less than asked (a disk filling up): the rest is written, or fails. */
async function writeFully(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let at = 0; at < data.length;) {
    const { bytesWritten } = await handle.write(data, at, data.length - at, position + at);
    at += bytesWritten;
  }
}

export async function downloadBlob(request: DownloadRequest): Promise<void> {
  const { root, digest, size, session, logger } = request;
  const target = blobPath(root, digest);
  const partial = `${target}-partial`;
  const statePath = `${partial}.json`;
  const parts = planParts(size, request);
  const ranged = parts.length > 1;
  const noSpace = (cause?: unknown) => {
    const left = parts.reduce((sum, p) => sum + p.length - p.written, 0);
    return new AppError(
      "insufficient_storage",
      `pull: the disk holding ${request.storeLabel} is full (${left} more bytes needed for ${digest}); ` +
        "free space and pull again to resume",
      { cause },
    );
  };
  const asError = (error: unknown): Error => {
    if (isNoSpace(error)) return noSpace(error);
    return error instanceof Error
      ? error
      : new AppError("internal", "pull: download failed", { cause: error });
  };

  let handle: FileHandle;
  try {
    await mkdir(dirname(partial), { recursive: true });
    await loadState(statePath, size, parts);
    const existing = await stat(partial).catch(() => undefined);
    if (!existing?.isFile() || existing.size !== size) for (const p of parts) p.written = p.received = 0;
    const kept = parts.reduce((sum, p) => sum + p.written, 0);
    // Refuse up front what cannot fit rather than fill the disk and fail near the end.
    const space = await statfs(dirname(partial));
    if (space.blocks > 0 && space.bavail * space.bsize < size - kept) throw noSpace();
    if (kept > 0) {
      handle = await open(partial, "r+");
    } else {
      // Read as well: bytes of parts behind the hash are read back from the file.
      handle = await open(partial, "w+");
      await handle.truncate(size);
    }
    // Written before any data, so it can be rewritten in place once the disk is full (parts.ts).
    await saveState(statePath, size, parts);
  } catch (error) {
    throw asError(error);
  }

  let saving = Promise.resolve();
  let lastSave = Date.now();
  const persist = () => {
    lastSave = Date.now();
    saving = saving.then(() => saveState(statePath, size, parts)).catch(() => undefined);
    return saving;
  };

  const controller = new AbortController();
  const onAbort = () => controller.abort(request.signal.reason);
  if (request.signal.aborted) onAbort();
  request.signal.addEventListener("abort", onAbort, { once: true });

  let completed = parts.reduce((sum, p) => sum + p.received, 0);
  request.onProgress(completed);

  let failure: Error | undefined;
  const writes = new Set<Promise<void>>();
  const hash = createPartHasher(size, parts, handle, HASH_AHEAD_BUDGET);
  const fail = (error: unknown) => {
    failure ??= asError(error);
    hash.fail(failure);
    controller.abort(failure);
  };

  /** Fetches the rest of `part`, from the byte it reached. */
  const fetchRest = async (part: Part) => {
    const from = part.start + part.received;
    const last = part.start + part.length - 1;
    const expected = part.length - part.received;
    const range = ranged || part.received > 0 ? { start: from, end: last } : undefined;
    const response = await session.blob(digest, range, controller.signal);
    if (range) {
      const header = response.headers["content-range"] ?? "";
      const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header);
      if (!match || Number(match[1]) !== from || Number(match[2]) !== last) {
        response.discard();
        throw new AppError("registry_error", `pull: wrong Content-Range ${JSON.stringify(header)}`);
      }
    }
    const declared = response.headers["content-length"];
    if (declared !== undefined && Number(declared) !== expected) {
      response.discard();
      throw new AppError("registry_error", `pull: blob ${digest} is ${declared} bytes, not ${expected}`);
    }
    const sink = partSink(part, digest, {
      write(data, position) {
        const write = writeFully(handle, data, position);
        writes.add(write);
        write.catch(fail).finally(() => writes.delete(write));
        return write;
      },
      offer: (data) => hash.offer(part, data),
      received(length) {
        completed += length;
        request.onProgress(completed);
      },
      written() {
        hash.changed();
        if (Date.now() - lastSave >= SAVE_INTERVAL_MS) void persist();
      },
    });
    try {
      await response.read(sink);
    } finally {
      // Bytes received before a cut are good: they count, and a retry starts after them.
      sink.flush();
    }
    if (part.received !== part.length) {
      throw new TransientError(`pull: blob ${digest} ended after ${part.received} of ${part.length} bytes`);
    }
    hash.complete(part);
  };

  const runPart = async (part: Part) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await fetchRest(part);
        return;
      } catch (error) {
        if (!(error instanceof TransientError) || attempt >= request.attempts || controller.signal.aborted) {
          throw error;
        }
        const delay = request.backoffMs * 2 ** Math.min(attempt - 1, 5);
        logger.warn(
          {
            digest,
            part: part.index,
            attempt,
            resumeAt: part.start + part.received,
            delayMs: delay,
            err: error,
          },
          "pull: part failed, retrying from the byte reached",
        );
        await sleep(delay, undefined, { signal: controller.signal });
      }
    }
  };

  let next = 0;
  const worker = async () => {
    for (let part = parts[next++]; part && failure === undefined; part = parts[next++]) {
      if (part.received < part.length) await runPart(part);
    }
  };

  try {
    const workers = Array.from({ length: Math.min(request.concurrency, parts.length) }, () =>
      worker().catch(fail),
    );
    const actual = await hash.run().catch((error: unknown) => {
      fail(error);
      return "";
    });
    await Promise.allSettled(workers);
    while (writes.size > 0) await Promise.allSettled([...writes]);
    if (failure !== undefined) {
      // Keep what a resume needs: every part's bytes up to its last completed write.
      await persist();
      throw failure;
    }
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
  } catch (error) {
    throw asError(error);
  } finally {
    request.signal.removeEventListener("abort", onAbort);
    hash.close();
    await saving;
    await handle.close().catch(() => undefined);
  }
}
