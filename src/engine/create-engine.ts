/**
 * Builds the inference engine: a scheduler that runs each loaded model in its own runner
 * process. Nothing starts until the first request; `close()` stops every runner.
 */
import type { Config } from "../config/schema.js";
import type { Logger } from "../logger.js";
import { Scheduler } from "./scheduler.js";
import type { Engine } from "./types.js";

export interface CreateEngineOptions {
  config: Readonly<Config>;
  logger: Logger;
  /**
   * Keep one spare runner process with llama.cpp already loaded (started after the first model
   * load), so switching models or recovering from a crash skips llama.cpp's start-up. Default true.
   */
  spareRunner?: boolean;
}

export function createEngine(options: CreateEngineOptions): Engine {
  return new Scheduler({
    config: options.config,
    logger: options.logger.child({ component: "engine" }),
    ...(options.spareRunner === undefined ? {} : { spareRunner: options.spareRunner }),
  });
}
