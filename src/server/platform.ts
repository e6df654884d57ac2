import type { Config } from "../config/schema.js";
import { modelsPath } from "../config/load.js";
import { createEngine } from "../engine/create-engine.js";
import { createInference } from "../engine/inference/service.js";
import type { Logger } from "../logger.js";
import { createMetrics } from "../metrics/registry.js";
import { createPuller } from "../models/pull/puller.js";
import { createModelStore } from "../models/store.js";
import { VERSION } from "../version.js";
import type { ServerDeps } from "./context.js";
import { createServer, type CreateServerOptions } from "./create-server.js";

export interface PlatformOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Server tuning (drain timeout). */
  server?: CreateServerOptions;
}

export interface Platform {
  url: string;
  port: number;
  deps: ServerDeps;
  /** Drains and closes the server, then the engine (runners) and the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Builds the runtime core — engine, model store, inference service, metrics, HTTP server — each
 * from its factory, and starts listening. The CLI's `aixcl serve` calls this and owns signals.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const { config, logger } = options;
  const store = createModelStore({ root: modelsPath(config), logger });
  const engine = createEngine({ config, logger });
  const inference = createInference({ engine, store, config, logger });
  const metrics = createMetrics({ engine });
  const puller = createPuller({ store, config, logger });
  const deps: ServerDeps = { config, engine, store, inference, metrics, logger, puller, version: VERSION };
  const server = createServer(deps, options.server);

  // Reverse order of construction: nothing new arrives once the server is closed, then runners
  // stop, then the store lets go of its caches.
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      const steps: [string, () => Promise<void>][] = [
        ["server", () => server.close()],
        ["engine", () => engine.close()],
        ["puller", async () => puller.close()],
        ["store", () => store.close()],
      ];
      for (const [name, step] of steps) {
        try {
          await step();
        } catch (error) {
          logger.error({ err: error, part: name }, "error while closing");
        }
      }
    })();
    return closed;
  };

  try {
    const address = await server.listen();
    return { url: address.url, port: address.port, deps, close };
  } catch (error) {
    await close();
    throw error;
  }
}
