import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/**
 * Loads what a page shows, again when `deps` change or `reload()` is called; with `everyMs`, also
 * on a timer (live pages). A late answer from an older load never overwrites a newer one.
 */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const generation = useRef(0);

  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    load().then(
      (value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (caught: unknown) => {
        if (mine !== generation.current) return;
        setError(caught);
        setLoading(false);
      },
    );
  }, [...deps, tick]);

  useEffect(() => {
    if (everyMs === undefined) return;
    const timer = setInterval(() => setTick((n) => n + 1), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);

  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { data, error, loading, reload };
}

/** How often a live page refreshes until the server says how often it samples. */
const LIVE_EVERY_MS = 5000;

/**
 * useLoad on a timer that follows the server: `intervalOf` reads, from an answer, the seconds
 * between the server's metric samples (`metrics.sample_interval`), and the page refreshes that
 * often (a faster refresh would show the same figures again).
 */
export function useLiveLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
  intervalOf: (data: T) => number | undefined,
): Loaded<T> & { everyMs: number } {
  const [everyMs, setEveryMs] = useState(LIVE_EVERY_MS);
  const loaded = useLoad(load, deps, everyMs);
  const seconds = loaded.data === undefined ? undefined : intervalOf(loaded.data);
  useEffect(() => {
    if (typeof seconds === "number" && seconds > 0) setEveryMs(seconds * 1000);
  }, [seconds]);
  return { ...loaded, everyMs };
}

export interface Actions {
  busy: boolean;
  error: unknown;
  /** Runs `action`; on success calls `after` (usually the page's reload), on failure keeps the error. */
  run: (action: () => Promise<unknown>, after?: () => void) => Promise<boolean>;
  clear: () => void;
}

/** The state of a page's buttons: one action at a time, its error shown until the next one. */
export function useActions(): Actions {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (action: () => Promise<unknown>, after?: () => void) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      after?.();
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, clear: () => setError(null) };
}
