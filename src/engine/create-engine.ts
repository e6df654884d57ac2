/**
 * Builds the inference engine: a scheduler that runs each loaded model in its own runner
 * process. Nothing starts until the first request; `close()` stops every runner.
 */
import type { Config } from "../config/schema.js";
import type { Logger } from "../logger.js";
import type { RunnerPool } from "./runner/pool.js";
import { Scheduler, type SchedulerOptions } from "./scheduler.js";
import type { Engine } from "./types.js";

export interface CreateEngineOptions {
  config: Readonly<Config>;
  logger: Logger;
  /**
   * Keep one spare runner process with llama.cpp already loaded (started after the first model
   * load), so switching models or recovering from a crash skips llama.cpp's start-up. Default true.
   */
  spareRunner?: boolean;
  /**
   * The runners' entry module, compiled JavaScript run by plain `node`. Default: the one beside
   * the engine (`main.js` when built; `main.ts` through tsx from source). Tests run src/ in-process
   * but start runners from a build of it (test/support/build.ts) to skip tsx in every runner.
   */
  runnerEntry?: string;
  /**
   * Warm runners shared with other engines of this process (see RunnerPool): unloaded runners
   * go there and loads take them back. Default none: every model load starts a fresh process.
   */
  runnerPool?: RunnerPool;
  /** See SchedulerOptions.onGeneration. */
  onGeneration?: SchedulerOptions["onGeneration"];
}

export function createEngine(options: CreateEngineOptions): Engine {
  return new Scheduler({
    config: options.config,
    logger: options.logger.child({ component: "engine" }),
    ...(options.spareRunner === undefined ? {} : { spareRunner: options.spareRunner }),
    ...(options.runnerEntry === undefined ? {} : { runnerEntry: options.runnerEntry }),
    ...(options.runnerPool === undefined ? {} : { runnerPool: options.runnerPool }),
    ...(options.onGeneration === undefined ? {} : { onGeneration: options.onGeneration }),
  });
}
