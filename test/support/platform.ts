/**
 * Starts a whole platform (engine, store, inference, metrics, HTTP server on port 0) in a temp
 * AIXCL_HOME, with the given test models installed in its store. One per test file: loading
 * models is the slow part, so files share it across their tests.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { databasePath, loadConfig, modelsPath } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import type { LogTail } from "../../src/lib/log-tail.js";
import { createLogger, silentLogger } from "../../src/logger.js";
import type { ServerDeps } from "../../src/server/context.js";
import { startPlatform, type Platform } from "../../src/server/start.js";
import type { Database } from "../../src/store/types.js";
import { testEngineOptions } from "./build.js";
import { takePooledPglite } from "./pglite-pool.js";
import { copyPgliteTemplate } from "./pglite-template.js";
import { installModel } from "./test-models.js";

interface TestModel {
  name: string;
  gguf: string;
  layers?: Parameters<typeof installModel>[3];
}

export interface TestPlatformOptions {
  /** Settings as dotted paths (`engine.num_parallel`), like CLI flags. */
  flags?: Record<string, unknown>;
  models?: TestModel[];
  /** How long close() waits for in-flight streams, ms. Default 2000 (tests should not wait 10 s). */
  drainTimeoutMs?: number;
  /**
   * An open, migrated database (e.g. `openTestDatabase(engine)`) for the platform's users, keys
   * and sessions, instead of PGlite in the temp home; the caller closes it.
   */
  database?: Database;
  /**
   * Open PGlite in the temp home (a copy of the run's template), as `aixcl serve` does, for tests
   * of what is on disk or shared with a CLI on the same home. Default: a database from the
   * worker's pool (test/support/pglite-pool.ts), which costs no open.
   */
  homeDatabase?: boolean;
  /** Keep the engine's idle spare runner (see createEngine). Default false: only its own tests need it. */
  spareRunner?: boolean;
  /** The built web app to serve (index.html, assets/). Default: the package's dist/web. */
  webRoot?: string;
  /** Keep the log lines (level debug, nothing on stderr) in this tail, served by /api/admin/logs. */
  logTail?: LogTail;
}

export interface TestPlatform {
  url: string;
  port: number;
  home: string;
  config: Readonly<Config>;
  deps: ServerDeps;
  /** The server's Hono app (its route table: `app.routes`). */
  app: Platform["app"];
  /** Closes the platform (in-flight requests get `drainMs`, default the server's) and removes the temp home. Idempotent. */
  close(drainMs?: number): Promise<void>;
}

export async function startTestPlatform(options: TestPlatformOptions = {}): Promise<TestPlatform> {
  const home = await mkdtemp(join(tmpdir(), "aixcl-test-"));
  try {
    const config = loadConfig({
      // Small PGlite shared buffers: a test's few rows do not need 128 MiB touched at every start.
      // One compute thread per runner: two test files run at once on two cores, and llama.cpp's
      // threads spin while they wait for each other, which burns the other file's core.
      flags: {
        home,
        "server.port": 0,
        "database.pglite_buffers_mb": 16,
        "engine.threads": 1,
        ...options.flags,
      },
      env: {},
      readFile: false,
    });
    const needsDatabase = !options.database && config.profile !== "core" && config.database.url === undefined;
    // The home's PGlite starts as a copy of the run's migrated template (test/support/pglite-template.ts).
    if (needsDatabase && options.homeDatabase) await copyPgliteTemplate(databasePath(config));
    for (const model of options.models ?? []) {
      await installModel(modelsPath(config), model.name, model.gguf, model.layers);
    }
    const pooled = needsDatabase && !options.homeDatabase ? await takePooledPglite() : undefined;
    const database = options.database ?? pooled;
    const platform = await startPlatform({
      config,
      logger: options.logTail
        ? createLogger({ level: "debug", stderr: false, tail: options.logTail })
        : silentLogger(),
      ...(options.logTail ? { logTail: options.logTail } : {}),
      server: {
        drainTimeoutMs: options.drainTimeoutMs ?? 2000,
        ...(options.webRoot === undefined ? {} : { webRoot: options.webRoot }),
      },
      engine: testEngineOptions(options.spareRunner),
      ...(database ? { database } : {}),
    }).catch(async (error: unknown) => {
      await pooled?.close();
      throw error;
    });
    let closed: Promise<void> | undefined;
    return {
      url: platform.url,
      port: platform.port,
      home,
      config,
      deps: platform.deps,
      app: platform.app,
      close: (drainMs?: number) =>
        (closed ??= (async () => {
          try {
            await platform.close(drainMs);
          } finally {
            await pooled?.close();
            await rm(home, { recursive: true, force: true });
          }
        })()),
    };
  } catch (error) {
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}
