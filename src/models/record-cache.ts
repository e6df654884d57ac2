/**
 * Model records by name, so a request does not walk the manifests tree and re-read the manifest
 * and its small layers every time. An entry is used only while its manifest file is the one it
 * was built from: one stat compares device, inode, size, mtime and ctime (nanoseconds), so a
 * change by another process — `aixcl models rm` or a pull from the CLI, Ollama writing the same
 * directory — is seen on the next request. Writes through the store clear the cache as well.
 * Layer blobs are content-addressed: a manifest that did not change names the same bytes.
 */
import { stat } from "node:fs/promises";
import type { StoredModelRecord } from "./records.js";

/** Most names remembered; past it the cache starts over (names come from existing manifests only). */
const MAX_ENTRIES = 1024;

/** Counters of the store's record lookups (tests and diagnostics). */
export interface RecordCacheStats {
  /** Records asked for (`get`). */
  lookups: number;
  /** Records built from disk: the manifest read and parsed, its small layers read. */
  reads: number;
}

interface Entry {
  /** The manifest the record was built from (the on-disk spelling of the name). */
  path: string;
  stamp: string;
  record: StoredModelRecord;
}

/** Identity and version of a file; undefined when it is gone. */
export async function fileStamp(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  }
}

export interface RecordCache {
  /**
   * The cached record for `key` (a name compared ignoring case), when its manifest is unchanged.
   * `exactPath` is the manifest path of the name as the client spelled it: when that file exists
   * and is not the cached one, a lookup by the tree would find it first, so the entry is not used.
   */
  lookup(key: string, exactPath: string): Promise<StoredModelRecord | undefined>;
  /** Remembers a record built from the manifest at `path` whose stamp was taken before reading it. */
  remember(key: string, path: string, stamp: string, record: StoredModelRecord): void;
  clear(): void;
  stats(): RecordCacheStats;
}

export function createRecordCache(): RecordCache {
  const entries = new Map<string, Entry>();
  const counters: RecordCacheStats = { lookups: 0, reads: 0 };
  return {
    async lookup(key, exactPath) {
      counters.lookups++;
      const entry = entries.get(key);
      if (entry) {
        const current = await fileStamp(entry.path);
        const shadowed =
          exactPath !== entry.path && ![undefined, entry.stamp].includes(await fileStamp(exactPath));
        if (current === entry.stamp && !shadowed) return entry.record;
        entries.delete(key);
      }
      counters.reads++;
      return undefined;
    },
    remember(key, path, stamp, record) {
      if (entries.size >= MAX_ENTRIES) entries.clear();
      entries.set(key, { path, stamp, record });
    },
    clear() {
      entries.clear();
    },
    stats() {
      return { ...counters };
    },
  };
}
