/**
 * Blob garbage collection that is safe next to concurrent creates. A create pins every digest its
 * new manifest will name before checking the blob exists; collection runs under the same lock and
 * skips pinned digests. So either the collector removes a blob first and the create then sees it
 * missing (and writes it again or fails cleanly), or the create pins it first and it survives.
 */
import type { Logger } from "../logger.js";
import { hasBlobFile, removeBlob } from "./blobs.js";
import type { Digest } from "./manifest.js";
import { createKeyedLock, createPinSet } from "./lock.js";
import { referencedDigests } from "./tree.js";

export interface BlobGuard {
  /**
   * Pins `digests` (until `release`) and reports which of them are absent from `blobs/`.
   * A missing digest stays pinned: the caller is about to write it.
   */
  acquire(digests: Iterable<Digest>): Promise<{ release: () => void; missing: Digest[] }>;
  /** Removes each candidate no manifest references and no create has pinned; returns them. */
  collect(candidates: Iterable<Digest>): Promise<Digest[]>;
}

export function createBlobGuard(root: string, logger: Logger): BlobGuard {
  const lock = createKeyedLock();
  const pins = createPinSet();
  return {
    acquire(digests) {
      const list = [...new Set(digests)];
      return lock.run("gc", async () => {
        const release = pins.pin(list);
        try {
          const missing: Digest[] = [];
          for (const d of list) if (!(await hasBlobFile(root, d))) missing.push(d);
          return { release, missing };
        } catch (error) {
          release();
          throw error;
        }
      });
    },
    collect(candidates) {
      const list = [...new Set(candidates)];
      if (list.length === 0) return Promise.resolve([]);
      return lock.run("gc", async () => {
        const used = await referencedDigests(root);
        const removed: Digest[] = [];
        for (const d of list) {
          if (used.has(d) || pins.has(d)) continue;
          await removeBlob(root, d);
          removed.push(d);
        }
        if (removed.length > 0) logger.debug({ removed }, "removed unused blobs");
        return removed;
      });
    },
  };
}
