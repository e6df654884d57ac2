/**
 * Where the slot scheduler's runner processes come from: a fresh one, or the spare kept with
 * llama.cpp already loaded so the next load (another model, a reload, a crash restart) skips
 * llama.cpp's 1–2 s start-up, or one from a shared RunnerPool.
 */
import type { Logger } from "../logger.js";
import { RunnerProcess } from "./runner/client.js";
import type { RunnerPool } from "./runner/pool.js";

export interface RunnerSourceOptions {
  /** GPU mode runners load llama.cpp with. */
  gpu: "auto" | false;
  logger: Logger;
  loadTimeoutMs: number;
  /** Keep one spare runner, started after the first model loads. */
  spareRunner: boolean;
  /** The runners' entry module (see RunnerProcessOptions.entry). Default: the one beside the client. */
  runnerEntry?: string;
  /** Where unloaded runners go, and new ones are taken from first (see RunnerPool). Default: none. */
  runnerPool?: RunnerPool;
}

export class RunnerSource {
  private spare: RunnerProcess | undefined;

  constructor(private readonly options: RunnerSourceOptions) {}

  /** The spare when it is alive, else a new runner. */
  take(): RunnerProcess {
    const spare = this.spare;
    this.spare = undefined;
    return spare?.alive ? spare : this.create();
  }

  /** Starts a spare if none is waiting (and spares are on). */
  ensureSpare(): void {
    if (!this.options.spareRunner || this.spare) return;
    const spare = this.create();
    spare.onExit = () => {
      if (this.spare === spare) this.spare = undefined;
    };
    this.spare = spare;
  }

  /** Stops the spare (on close). */
  async stop(): Promise<void> {
    const spare = this.spare;
    this.spare = undefined;
    await spare?.stop();
  }

  private create(): RunnerProcess {
    const options = {
      gpu: this.options.gpu,
      logger: this.options.logger,
      loadTimeoutMs: this.options.loadTimeoutMs,
      ...(this.options.runnerEntry === undefined ? {} : { entry: this.options.runnerEntry }),
    };
    const pooled = this.options.runnerPool?.take(options);
    return pooled ? pooled.adopt(options) : new RunnerProcess(options);
  }
}
