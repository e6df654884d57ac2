/**
 * In-process async locks for the store. One aixcl process owns a models directory, so serialising
 * its own writers is enough to keep manifests and blob garbage collection consistent.
 */

export interface KeyedLock {
  /** Runs `fn` once every earlier holder of `key` has finished; holders of other keys run freely. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

export function createKeyedLock(): KeyedLock {
  const tails = new Map<string, Promise<void>>();
  return {
    async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
      const previous = tails.get(key) ?? Promise.resolve();
      let release!: () => void;
      const current = new Promise<void>((resolve) => {
        release = resolve;
      });
      const tail = previous.then(() => current);
      tails.set(key, tail);
      await previous;
      try {
        return await fn();
      } finally {
        release();
        // Drop the entry when nobody queued behind us, so the map does not grow with every name.
        if (tails.get(key) === tail) tails.delete(key);
      }
    },
  };
}

/**
 * Reference counts of blobs an unfinished create is about to reference. Garbage collection skips
 * pinned digests, so a delete running alongside a create never removes a blob the new manifest
 * will name.
 */
export interface PinSet {
  pin(digests: Iterable<string>): () => void;
  has(digest: string): boolean;
}

export function createPinSet(): PinSet {
  const counts = new Map<string, number>();
  return {
    pin(digests) {
      const held = [...new Set(digests)];
      for (const d of held) counts.set(d, (counts.get(d) ?? 0) + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const d of held) {
          const n = (counts.get(d) ?? 1) - 1;
          if (n <= 0) counts.delete(d);
          else counts.set(d, n);
        }
      };
    },
    has(digest) {
      return counts.has(digest);
    },
  };
}
