import { useEffect, useState } from "preact/hooks";

/**
 * A module loaded on first use (a dynamic import: Vite puts it in its own chunk, so the chat
 * page never downloads the admin pages or uPlot). `error` when the chunk could not be fetched.
 */
export function useLazy<T>(load: () => Promise<T>): { module: T | undefined; error: unknown } {
  const [state, setState] = useState<{ module: T | undefined; error: unknown }>({
    module: undefined,
    error: null,
  });
  useEffect(() => {
    let live = true;
    load().then(
      (module) => live && setState({ module, error: null }),
      (error: unknown) => live && setState({ module: undefined, error }),
    );
    return () => {
      live = false;
    };
  }, []);
  return state;
}
