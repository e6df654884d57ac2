/**
 * Content-addressed blobs (`blobs/sha256-<hex>`). A blob is streamed into a temp file in the same
 * directory while being hashed (no second read of a multi-GB file), fsynced, then renamed into
 * place, so a reader sees either nothing or the whole verified blob.
 */
import { createHash } from "node:crypto";
import { rename, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { AppError } from "../errors.js";
import {
  isNotFound,
  openExclusive,
  removeQuietly,
  syncDir,
  tempPathFor,
  writeFileAtomic,
  type AtomicWriteOptions,
} from "../lib/files.js";
import { blobPath, digestHex, digestOf, type Digest } from "./manifest.js";

/** Bytes gathered before one write(2): request bodies arrive in 16–64 KiB chunks. */
const WRITE_BATCH_BYTES = 1024 * 1024;

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/**
 * How the store writes its small files (manifests, config and template blobs): world-readable
 * like Ollama's, creating the directory when missing (a new namespace or model).
 */
export const STORE_FILE_WRITE: AtomicWriteOptions = { mode: 0o644, createDir: true };

export interface BlobWriteResult {
  digest: Digest;
  size: number;
  /** False when the blob was already present (deduplicated). */
  created: boolean;
}

/**
 * Streams `body` into the blob named by `digest`, hashing as it goes. On a mismatch the temp file
 * is deleted and AppError digest_mismatch thrown; nothing is left behind on any failure.
 * A blob already present is kept and the body is not read (content addressing makes it equal).
 */
export async function writeBlobStream(
  root: string,
  digest: Digest,
  body: AsyncIterable<Uint8Array>,
): Promise<BlobWriteResult> {
  const target = blobPath(root, digest);
  try {
    const existing = await stat(target);
    return { digest, size: existing.size, created: false };
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const temp = tempPathFor(target);
  const hash = createHash("sha256");
  let size = 0;
  try {
    const handle = await openExclusive(temp, 0o644, true);
    try {
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        await handle.write(pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending));
        pending = [];
        pendingBytes = 0;
      };
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.byteLength;
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= WRITE_BATCH_BYTES) await flush();
      }
      await flush();
      await handle.sync();
    } finally {
      await handle.close();
    }
    const actual = hash.digest("hex");
    if (actual !== digestHex(digest)) {
      throw new AppError("digest_mismatch", `digest mismatch: expected ${digest}, got sha256:${actual}`);
    }
    await rename(temp, target);
  } catch (error) {
    await removeQuietly(temp);
    throw error;
  }
  await syncDir(dirname(target));
  return { digest, size, created: true };
}

/** Stores small in-memory content (template, params, config...) as a blob; deduplicated. */
export async function writeBlobBytes(root: string, data: Uint8Array): Promise<BlobWriteResult> {
  const digest = digestOf(createHash("sha256").update(data).digest("hex"));
  const target = blobPath(root, digest);
  if (await pathExists(target)) return { digest, size: data.byteLength, created: false };
  await writeFileAtomic(target, data, STORE_FILE_WRITE);
  return { digest, size: data.byteLength, created: true };
}

/** Digest of in-memory content, without writing it. */
export function digestOfBytes(data: Uint8Array): Digest {
  return digestOf(createHash("sha256").update(data).digest("hex"));
}

export async function hasBlobFile(root: string, digest: Digest): Promise<boolean> {
  try {
    return (await stat(blobPath(root, digest))).isFile();
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** Size of a blob, or undefined when it is absent. */
export async function blobSize(root: string, digest: Digest): Promise<number | undefined> {
  try {
    const info = await stat(blobPath(root, digest));
    return info.isFile() ? info.size : undefined;
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

export async function removeBlob(root: string, digest: Digest): Promise<void> {
  await removeQuietly(blobPath(root, digest));
}
