import { useRef, useState } from "preact/hooks";
import { describeError } from "../api/errors";
import { startPull } from "../api/models-api";
import type { PullStatus } from "../api/models-types";
import { readStream } from "../api/stream";

interface PullLayer {
  digest: string;
  total: number;
  completed: number;
}

export interface Pull {
  id: number;
  name: string;
  state: "running" | "done" | "error" | "cancelled";
  /** The last status line (`pulling manifest`, `verifying sha256 digest`, …) or the error. */
  message: string;
  layers: PullLayer[];
}

/**
 * Model pulls, several at once, each reading its own `/api/pull` NDJSON stream and cancellable
 * by aborting its request (the server stops its share of the download; a retry resumes).
 */
export function usePulls(onFinished: () => void) {
  const [pulls, setPulls] = useState<Pull[]>([]);
  const controllers = useRef(new Map<number, AbortController>());
  const nextId = useRef(1);

  const update = (id: number, change: (pull: Pull) => Pull) =>
    setPulls((list) => list.map((pull) => (pull.id === id ? change(pull) : pull)));

  const onStatus = (id: number, line: PullStatus) =>
    update(id, (pull) => {
      if (line.error !== undefined) return { ...pull, state: "error", message: line.error };
      let layers = pull.layers;
      if (line.digest !== undefined && line.total !== undefined) {
        const layer = { digest: line.digest, total: line.total, completed: line.completed ?? 0 };
        layers = layers.some((l) => l.digest === line.digest)
          ? layers.map((l) => (l.digest === line.digest ? layer : l))
          : [...layers, layer];
      }
      const done = line.status === "success";
      return { ...pull, layers, message: line.status ?? pull.message, state: done ? "done" : pull.state };
    });

  const start = (name: string, insecure: boolean) => {
    const id = nextId.current++;
    const controller = new AbortController();
    controllers.current.set(id, controller);
    setPulls((list) => [{ id, name, state: "running", message: "starting", layers: [] }, ...list]);
    void (async () => {
      try {
        const response = await startPull(name, insecure, controller.signal);
        await readStream<PullStatus>(response, (line) => onStatus(id, line));
        update(id, (pull) =>
          pull.state === "running" ? { ...pull, state: "error", message: "the stream ended early" } : pull,
        );
      } catch (error) {
        const cancelled = controller.signal.aborted;
        update(id, (pull) => ({
          ...pull,
          state: cancelled ? "cancelled" : "error",
          message: cancelled ? "cancelled" : describeError(error),
        }));
      } finally {
        controllers.current.delete(id);
        onFinished();
      }
    })();
  };

  const cancel = (id: number) => controllers.current.get(id)?.abort();
  const dismiss = (id: number) => setPulls((list) => list.filter((pull) => pull.id !== id));
  return { pulls, start, cancel, dismiss };
}
