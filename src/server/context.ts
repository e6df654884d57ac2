import type { Config } from "../config/schema.js";
import type { Engine } from "../engine/types.js";
import type { Inference } from "../engine/inference/types.js";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics/types.js";
import type { Puller } from "../models/pull/puller.js";
import type { ModelStore } from "../models/types.js";

/** Everything routes need; built once by server/create-server.ts (factories, no singletons). */
export interface ServerDeps {
  config: Readonly<Config>;
  engine: Engine;
  store: ModelStore;
  inference: Inference;
  metrics: Metrics;
  logger: Logger;
  /** Pulls models from registries (`POST /api/pull`); absent when the server was built without one. */
  puller?: Puller;
  /** aixcl's version, reported by /api/version. */
  version: string;
}
