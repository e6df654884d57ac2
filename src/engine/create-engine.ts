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
}

export function createEngine(options: CreateEngineOptions): Engine {
  return new Scheduler({ config: options.config, logger: options.logger.child({ component: "engine" }) });
}
