/**
 * Runner processes kept warm after their model was unloaded, for the next load to reuse instead
 * of starting a process (importing node-llama-cpp and loading llama.cpp's backends costs ~1–1.5 s
 * of CPU per runner). It is shared by engines that run in one process one after another or side
 * by side — the test suite starts ~60 engines per worker process — and outlives them: a pooled
 * runner is stopped when the pool is full, or exits with the process that owns the pool.
 *
 * A reused runner has parsed another model file before. Model files come from the platform's own
 * store, but a server that wants each model in a fresh process (the default) passes no pool.
 */
import { spawnKey } from "./client.js";
import type { RunnerProcess, RunnerProcessOptions } from "./client.js";

export class RunnerPool {
  private readonly idle: RunnerProcess[] = [];

  constructor(private readonly capacity: number) {}

  /** A warm runner started with these settings, if one is idle. */
  take(options: Pick<RunnerProcessOptions, "entry" | "gpu">): RunnerProcess | undefined {
    const key = spawnKey(options);
    const index = this.idle.findIndex((runner) => runner.alive && runner.spawnKey === key);
    if (index < 0) return undefined;
    const [runner] = this.idle.splice(index, 1);
    return runner;
  }

  /** Keeps a runner whose model was freed (`reset`), or stops it when the pool is full. */
  give(runner: RunnerProcess): void {
    if (!runner.alive) return;
    if (this.idle.length >= this.capacity) {
      void runner.stop();
      return;
    }
    runner.keepsParentAlive(false);
    runner.onExit = () => {
      const index = this.idle.indexOf(runner);
      if (index >= 0) this.idle.splice(index, 1);
    };
    this.idle.push(runner);
  }

  /** Stops every idle runner. */
  async close(): Promise<void> {
    await Promise.all(this.idle.splice(0).map((runner) => runner.stop()));
  }
}
