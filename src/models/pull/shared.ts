/**
 * One run per key, shared by every caller that asks for it meanwhile: two pulls of the same model
 * (or of the same blob) download once and both see progress. A caller joining late first gets the
 * lines already sent (the latest per `replayKey`). The run is aborted only when every caller has
 * aborted, so one client hanging up does not cancel another's pull.
 */
export interface SharedRuns<T> {
  run(
    key: string,
    start: (emit: (item: T) => void, signal: AbortSignal) => Promise<void>,
    onItem: (item: T) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}

interface Run<T> {
  listeners: Set<(item: T) => void>;
  history: Map<string, T>;
  controller: AbortController;
  callers: number;
  promise: Promise<void>;
}

export function createSharedRuns<T>(replayKey: (item: T) => string): SharedRuns<T> {
  const runs = new Map<string, Run<T>>();
  return {
    async run(key, start, onItem, signal) {
      let current = runs.get(key);
      if (!current) {
        const controller = new AbortController();
        const created: Run<T> = {
          listeners: new Set(),
          history: new Map(),
          controller,
          callers: 0,
          promise: Promise.resolve(),
        };
        const emit = (item: T) => {
          // Delete first so the replay keeps the order lines were last sent in.
          const k = replayKey(item);
          created.history.delete(k);
          created.history.set(k, item);
          for (const listener of created.listeners) listener(item);
        };
        // The caller listens before the run starts: its first line is emitted synchronously.
        created.listeners.add(onItem);
        runs.set(key, created);
        created.promise = start(emit, controller.signal).finally(() => {
          if (runs.get(key) === created) runs.delete(key);
        });
        current = created;
      } else {
        for (const item of current.history.values()) onItem(item);
      }
      const joined = current;
      joined.listeners.add(onItem);
      joined.callers++;
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        joined.listeners.delete(onItem);
        joined.callers--;
        if (joined.callers === 0) joined.controller.abort(signal?.reason);
      };
      const aborted = new Promise<never>((_, reject) => {
        if (!signal) return;
        const onAbort = () => {
          leave();
          reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        };
        if (signal.aborted) onAbort();
        else {
          signal.addEventListener("abort", onAbort, { once: true });
          void joined.promise
            .finally(() => signal.removeEventListener("abort", onAbort))
            .catch(() => undefined);
        }
      });
      aborted.catch(() => undefined);
      try {
        await Promise.race([joined.promise, aborted]);
      } finally {
        joined.listeners.delete(onItem);
        if (!left) {
          left = true;
          joined.callers--;
        }
      }
    },
  };
}
