/**
 * The Ollama-layout model store: `manifests/<host>/<ns>/<model>/<tag>` + `blobs/sha256-<hex>`.
 * Works on a directory Ollama itself wrote (point `root` at `~/.ollama/models`). Every write is
 * atomic (temp + fsync + rename); writers of one name are serialised by an in-process lock, and
 * blob collection is guarded against concurrent creates (see gc.ts).
 */
import { unlink } from "node:fs/promises";
import { AppError } from "../errors.js";
import { isNotFound, isTempName, writeFileAtomic } from "../lib/files.js";
import { silentLogger, type Logger } from "../logger.js";
import { hasBlobFile, STORE_FILE_WRITE, writeBlobStream } from "./blobs.js";
import { executeCreate, planCreate } from "./create.js";
import { createBlobGuard } from "./gc.js";
import { readGgufInfo } from "./gguf/reader.js";
import type { GgufInfo } from "./gguf/types.js";
import { createKeyedLock } from "./lock.js";
import {
  manifestDigests,
  parseDigest,
  parseManifest,
  readManifestFile,
  type ManifestFile,
} from "./manifest.js";
import { displayName, manifestPath, nameFromPathParts, nameKey, parseModelName } from "./names.js";
import { createRecordCache, fileStamp, type RecordCacheStats } from "./record-cache.js";
import { buildRecord, createGgufCache, type StoredModelRecord } from "./records.js";
import { pruneEmptyParents, resolveManifest, walkManifests, type ResolvedManifest } from "./tree.js";
import type { CreateModelRequest, ModelName, ModelStore, ProgressStatus } from "./types.js";

export interface ModelStoreOptions {
  /** The models directory (holds `manifests/` and `blobs/`); created on first write. */
  root: string;
  /** Where skipped manifests and collected blobs are reported. Default: silent. */
  logger?: Logger;
  /** GGUF header reader; default the project's validating reader. Injected for tests of failure paths. */
  readGguf?: (path: string) => Promise<GgufInfo>;
}

export interface LocalModelStore extends ModelStore {
  list(): Promise<StoredModelRecord[]>;
  get(name: string): Promise<StoredModelRecord>;
  create(request: CreateModelRequest, onStatus: (status: ProgressStatus) => void): Promise<StoredModelRecord>;
  /**
   * Installs a manifest (e.g. one just pulled) under `name` once every blob it names is present;
   * blobs only the replaced manifest used are removed. Returns how many blobs were removed.
   */
  installManifest(name: string, bytes: Uint8Array): Promise<{ removed: number }>;
  /** How many records were asked for and how many were read from disk (not cached). */
  stats(): RecordCacheStats;
  /** Drops cached GGUF facts and records. Idempotent; the store stays usable (it holds no open files). */
  close(): Promise<void>;
}

function notFound(text: string): AppError {
  return new AppError("model_not_found", `model '${text}' not found`);
}

export function createModelStore(options: ModelStoreOptions): LocalModelStore {
  const { root } = options;
  const logger = options.logger ?? silentLogger();
  const readInfo = options.readGguf ?? readGgufInfo;
  const gguf = createGgufCache(readInfo);
  const records = createRecordCache();
  const guard = createBlobGuard(root, logger);
  const names = createKeyedLock();

  const resolve = (name: ModelName) => resolveManifest(root, name);

  /** The name as it will be written: an existing model's on-disk spelling wins (as in Ollama). */
  const existing = async (name: ModelName): Promise<{ target: ModelName; found?: ResolvedManifest }> => {
    const found = await resolve(name);
    return found ? { target: found.name, found } : { target: name };
  };

  const readIfPresent = async (found: ResolvedManifest | undefined): Promise<ManifestFile | undefined> => {
    if (!found) return undefined;
    try {
      return await readManifestFile(found.path);
    } catch (error) {
      // A broken manifest being replaced protects no blob; a missing one was deleted meanwhile.
      logger.warn({ path: found.path, err: error }, "replacing unreadable manifest");
      return undefined;
    }
  };

  const get = async (text: string): Promise<StoredModelRecord> => {
    const name = parseModelName(text);
    const key = nameKey(name);
    const cached = await records.lookup(key, manifestPath(root, name));
    if (cached) return cached;
    const found = await resolve(name);
    if (!found) throw notFound(text);
    // Stamped before reading: a change racing this read leaves a stale stamp, so the next lookup
    // reads again instead of trusting what this one got.
    const stamp = await fileStamp(found.path);
    if (stamp === undefined) throw notFound(text);
    let file: ManifestFile;
    try {
      file = await readManifestFile(found.path);
    } catch (error) {
      if (isNotFound(error)) throw notFound(text);
      throw error;
    }
    const record = await buildRecord(root, found.name, file, gguf);
    records.remember(key, found.path, stamp, record);
    return record;
  };

  /** Runs a write of the manifests tree, then forgets every cached record (whatever it did). */
  const writing = async <T>(write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } finally {
      records.clear();
    }
  };

  return {
    root,

    async list() {
      const entries = await walkManifests(root);
      const records = await Promise.all(
        entries.map(async ({ parts, path }): Promise<StoredModelRecord | undefined> => {
          if (isTempName(parts[3])) return undefined; // a manifest being written
          const name = nameFromPathParts(parts);
          if (!name) {
            logger.warn({ path }, "skipping manifest with an invalid model name");
            return undefined;
          }
          try {
            return await buildRecord(root, name, await readManifestFile(path), gguf);
          } catch (error) {
            if (!isNotFound(error)) logger.warn({ path, err: error }, "skipping unreadable model");
            return undefined;
          }
        }),
      );
      return records
        .filter((r): r is StoredModelRecord => r !== undefined)
        .sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime() || a.name.localeCompare(b.name));
    },

    get,

    async copy(source, destination) {
      const src = parseModelName(source);
      const dst = parseModelName(destination);
      await writing(() =>
        names.run(nameKey(dst), async () => {
          const from = await resolve(src);
          if (!from) throw notFound(source);
          const { target, found } = await existing(dst);
          if (found && found.path === from.path) return;
          const old = await readIfPresent(found);
          let file: ManifestFile;
          try {
            file = await readManifestFile(from.path);
          } catch (error) {
            if (isNotFound(error)) throw notFound(source);
            throw error;
          }
          // The same bytes, so the copy has the same digest (as `ollama cp` gives). Its blobs are
          // pinned while the new manifest is written so a concurrent delete of the source keeps them.
          const { release, missing } = await guard.acquire(manifestDigests(file.manifest));
          try {
            if (missing.length > 0)
              throw new AppError("blob_not_found", `blob ${missing[0]} of '${source}' is missing`);
            await writeFileAtomic(manifestPath(root, target), file.bytes, STORE_FILE_WRITE);
            if (old) {
              const kept = manifestDigests(file.manifest);
              await guard.collect([...manifestDigests(old.manifest)].filter((d) => !kept.has(d)));
            }
          } finally {
            release();
          }
        }),
      );
    },

    async delete(text) {
      const name = parseModelName(text);
      await writing(() =>
        names.run(nameKey(name), async () => {
          const found = await resolve(name);
          if (!found) throw notFound(text);
          const old = await readIfPresent(found);
          try {
            await unlink(found.path);
          } catch (error) {
            if (isNotFound(error)) throw notFound(text);
            throw error;
          }
          await pruneEmptyParents(root, found.path);
          if (!old) return;
          const removed = await guard.collect(manifestDigests(old.manifest));
          for (const d of removed) gguf.forget(d);
          logger.info({ model: displayName(found.name), removedBlobs: removed.length }, "model deleted");
        }),
      );
    },

    async hasBlob(digest) {
      return hasBlobFile(root, parseDigest(digest));
    },

    async writeBlob(digest, body) {
      await writeBlobStream(root, parseDigest(digest), body);
    },

    async create(request, onStatus) {
      // Everything the client sent is checked before the first byte is written.
      const plan = planCreate(request);
      const record = await writing(() =>
        names.run(nameKey(plan.name), async () => {
          const { target, found } = await existing(plan.name);
          const old = await readIfPresent(found);
          await executeCreate(
            { root, guard, gguf, readInfo, resolve },
            plan,
            target,
            old?.manifest,
            onStatus,
          );
          // Read back under the lock: a delete queued behind us cannot pull it away first.
          return buildRecord(root, target, await readManifestFile(manifestPath(root, target)), gguf);
        }),
      );
      onStatus({ status: "success" });
      return record;
    },

    async installManifest(text, bytes) {
      const name = parseModelName(text);
      const manifest = parseManifest(bytes);
      return writing(() =>
        names.run(nameKey(name), async () => {
          const { target, found } = await existing(name);
          const old = await readIfPresent(found);
          const { release, missing } = await guard.acquire(manifestDigests(manifest));
          try {
            if (missing.length > 0) throw new AppError("blob_not_found", `blob ${missing[0]} is missing`);
            await writeFileAtomic(manifestPath(root, target), bytes, STORE_FILE_WRITE);
            if (!old) return { removed: 0 };
            const kept = manifestDigests(manifest);
            const removed = await guard.collect(
              [...manifestDigests(old.manifest)].filter((d) => !kept.has(d)),
            );
            for (const d of removed) gguf.forget(d);
            return { removed: removed.length };
          } finally {
            release();
          }
        }),
      );
    },

    stats() {
      return records.stats();
    },

    async close() {
      gguf.clear();
      records.clear();
    },
  };
}
