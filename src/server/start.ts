import { createLocalToken, type LocalToken } from "../auth/local-token.js";
import { createLoginRateLimiter } from "../auth/rate-limit.js";
import { bindRevocationHub, createRevocationHub, unbindRevocationHub } from "../auth/revocation.js";
import type { Config } from "../config/schema.js";
import { writeServerRecord } from "../auth/server-record.js";
import { localTokenPath, modelsPath, serverRecordPath } from "../config/load.js";
import { createEngine, type CreateEngineOptions } from "../engine/create-engine.js";
import { createInference } from "../engine/inference/service.js";
import type { LogTail } from "../lib/log-tail.js";
import type { Logger } from "../logger.js";
import { createMetrics } from "../metrics/registry.js";
import type { Metrics } from "../metrics/types.js";
import { createMetricsSampler } from "../metrics/sampler.js";
import { createPuller } from "../models/pull/puller.js";
import { createModelStore } from "../models/store.js";
import { openDatabase } from "../store/open.js";
import { stopStreamingAnswers } from "../store/answers.js";
import { startAutoAnalyze } from "../store/pglite-analyze.js";
import { purgeExpiredSessions } from "../store/sessions.js";
import type { Database } from "../store/types.js";
import { openPlatformSecrets, sessionSecretCache } from "../platform/secrets.js";
import { VERSION } from "../version.js";
import type { AuthContext, ServerDeps } from "./context.js";
import { createServer, type AixclServer, type CreateServerOptions } from "./create-server.js";

export interface PlatformOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Server tuning (drain timeout). */
  server?: CreateServerOptions;
  /**
   * An open, migrated database to use instead of opening the configured one (tests share one
   * per file). The caller keeps ownership: close() does not close it. Ignored in profile core.
   */
  database?: Database;
  /**
   * The configured database, already being opened (openDatabaseEarly): used instead of opening
   * it here, and owned like one opened here (closed by close(), and when the start fails).
   */
  opening?: Promise<Database>;
  /** Engine tuning: the spare runner (default on) and the runners' entry module (see createEngine). */
  engine?: Pick<CreateEngineOptions, "spareRunner" | "runnerEntry" | "runnerPool">;
  /** The logger's in-memory tail (createLogger's `tail`), served by `/api/admin/logs`. */
  logTail?: LogTail;
}

export interface Platform {
  url: string;
  port: number;
  deps: ServerDeps;
  /** The Hono app the server answers with (its route table: `app.routes`). */
  app: AixclServer["app"];
  /**
   * Drains and closes the server (in-flight requests get `drainMs`, default the server's own
   * drain period), then the engine (runners), the store and the database. Idempotent.
   */
  close(drainMs?: number): Promise<void>;
}

/**
 * Builds the platform — database (profiles bld/sys), engine, model store, inference service,
 * metrics, identity (sessions, revocation, login limits, the local CLI token), HTTP server — each
 * from its factory, and starts listening. The CLI's `aixcl serve` calls this and owns signals.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const { config, logger } = options;
  // Reverse order of construction: nothing new arrives once the server is closed, then runners
  // stop, then the store lets go of its caches, and the database goes last (requests use it).
  const steps: [string, () => Promise<void>][] = [];
  let closed: Promise<void> | undefined;
  let drainMs: number | undefined;
  const close = (drain?: number) => {
    drainMs ??= drain;
    closed ??= (async () => {
      for (const [name, step] of steps.reverse()) {
        try {
          await step();
        } catch (error) {
          logger.error({ err: error, part: name }, "error while closing");
        }
      }
    })();
    return closed;
  };

  // A database opening early is closed whatever happens to the start before it is awaited.
  let opening = options.opening;
  const closeOpening = async () => {
    const pending = opening;
    opening = undefined;
    await (await pending?.catch(() => undefined))?.close();
  };
  try {
    let db: Database | undefined;
    // The vault first: a managed database role authenticates with the password it holds.
    const secrets = config.profile === "core" ? undefined : await openPlatformSecrets({ config, logger });
    if (secrets) steps.push(["vault", () => secrets.close()]);
    if (config.profile !== "core") {
      if (options.database) {
        db = options.database;
      } else {
        const password = secrets?.databasePassword;
        const pending = opening ?? openDatabase(config, password ? { password } : {});
        // From here the close step below owns it (an open that fails leaves nothing to close).
        opening = undefined;
        const opened = await pending;
        db = opened;
        steps.push(["database", () => opened.close()]);
      }
      if (db.engine === "pglite") steps.push(["statistics", startAutoAnalyze(db, logger)]);
      await purgeExpiredSessions(db);
      const stopped = await stopStreamingAnswers(db);
      if (stopped > 0)
        logger.info({ answers: stopped }, "answers left streaming by a stopped server marked stopped");
      await secrets?.attach(db);
    }

    const hub = createRevocationHub();
    if (db) {
      const bound = db;
      bindRevocationHub(bound, hub);
      steps.push(["revocation", async () => unbindRevocationHub(bound, hub)]);
    }
    const localToken: LocalToken = await createLocalToken(localTokenPath(config));
    steps.push(["local token", () => localToken.close()]);
    const sessionSecret = secrets ? sessionSecretCache(secrets.vault) : undefined;
    const auth: AuthContext = {
      hub,
      revokeRequests: (match) => hub.revokeRequests(match),
      loginLimiter: createLoginRateLimiter({
        perAccount: config.auth.login_attempts_per_account,
        perAddress: config.auth.login_attempts_per_address,
        windowMs: config.auth.login_window,
      }),
      sessionTtlMs: config.auth.session_ttl,
      sessionSecret: async () => sessionSecret?.read(),
      sessionSecretReplaced: (secret) => sessionSecret?.replace(secret),
      localToken,
    };

    const store = createModelStore({ root: modelsPath(config), logger });
    steps.push(["store", () => store.close()]);
    const puller = createPuller({ store, config, logger });
    steps.push(["puller", async () => puller.close()]);
    // The metrics observe the engine, and the engine reports each generation to them as it ends.
    const observed: { metrics?: Metrics } = {};
    const engine = createEngine({
      config,
      logger,
      ...options.engine,
      onGeneration: (model, stats) => observed.metrics?.observeGeneration(model, stats),
    });
    steps.push(["engine", () => engine.close()]);
    const inference = createInference({ engine, store, config, logger });
    const metrics = createMetrics({
      engine,
      modelsPath: modelsPath(config),
      ...(secrets ? { vault: secrets.vault } : {}),
    });
    observed.metrics = metrics;
    // Every profile has the admin API, so every profile keeps the dashboards' samples.
    const sampler = createMetricsSampler({
      metrics,
      intervalMs: config.metrics.sample_interval,
      onError: (error) => logger.warn({ err: error }, "metrics sample failed"),
    });
    await sampler.start();
    steps.push(["metrics sampler", async () => sampler.close()]);
    const deps: ServerDeps = {
      config,
      engine,
      store,
      inference,
      metrics,
      logger,
      puller,
      version: VERSION,
      ...(db ? { db } : {}),
      auth,
      ...(secrets ? { vault: secrets.vault } : {}),
      sampler,
      ...(options.logTail ? { logTail: options.logTail } : {}),
    };
    const server = createServer(deps, options.server);
    steps.push(["server", () => server.close(drainMs)]);

    const address = await server.listen();
    // Written once the port is known, removed first at close: the CLI finds this server by it.
    const record = await writeServerRecord(serverRecordPath(config), {
      url: address.url,
      host: config.server.host,
      port: address.port,
    });
    steps.push(["server record", () => record.close()]);
    return { url: address.url, port: address.port, deps, app: server.app, close };
  } catch (error) {
    await close();
    await closeOpening();
    throw error;
  }
}
