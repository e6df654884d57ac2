/**
 * `GET /api/admin/health`: the status page's one call (docs/admin-console.md), read by the CLI
 * too. Each component the profile runs reports itself; the overall status is `down` when the
 * database cannot answer and `degraded` when the vault is sealed or the model disk is nearly full.
 */
import { Hono } from "hono";
import type { HealthStatusWire, HealthWire, RunnerWire } from "../../../api/admin-wire.js";
import { modelsPath } from "../../../config/load.js";
import { freeBytes } from "../../../lib/files.js";
import { schemaVersion } from "../../../store/migrate.js";
import type { Database } from "../../../store/types.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";

/** Below this much free space on the model store's disk a pull will likely fail: degraded. */
const LOW_DISK_BYTES = 1024 ** 3;

/** What the HTTP server knows about itself (server/create-server.ts). */
export interface ServerVitals {
  /** Requests whose response is still open, this one included. */
  requestsActive(): number;
  /** When the server was built, ms since the epoch. */
  startedAt: number;
  /** Aborted when the server starts closing: open-ended streams (log follow) end then. */
  closing: AbortSignal;
}

async function databaseHealth(db: Database): Promise<NonNullable<HealthWire["components"]["database"]>> {
  try {
    // pg_stat_activity answers on PGlite too (one connection there).
    const { rows } = await db.query<{ connections: number | string }>(
      "SELECT count(*)::int AS connections FROM pg_stat_activity WHERE datname = current_database()",
    );
    return {
      status: "ok",
      engine: db.engine,
      size_bytes: await db.sizeBytes(),
      migration: await schemaVersion(db),
      connections: Number(rows[0]?.connections ?? 0),
    };
  } catch (error) {
    return { status: "down", engine: db.engine, error: (error as Error).message };
  }
}

function runners(deps: ServerDeps): RunnerWire[] {
  return deps.engine.loaded().map((loaded) => ({
    model: loaded.model.name,
    pid: loaded.pid ?? null,
    status: "ok",
    slots: loaded.slots,
    slots_busy: loaded.activeRequests,
    size_vram: loaded.sizeVramBytes,
    size: loaded.sizeBytes,
    size_rss: loaded.rssBytes,
    context_length: loaded.contextLength,
    expires_at: loaded.expiresAt === null ? null : loaded.expiresAt.toISOString(),
  }));
}

async function platformHealth(deps: ServerDeps, vitals: ServerVitals): Promise<HealthWire> {
  const components: HealthWire["components"] = {
    api: { status: "ok", requests_active: vitals.requestsActive() },
  };
  const stats = deps.engine.stats();
  components.engine = {
    status: "ok",
    queue_depth: stats.queueDepth,
    active_requests: stats.activeRequests,
    runners: runners(deps),
    runner_restarts: stats.runnerRestarts,
  };
  if (deps.db) components.database = await databaseHealth(deps.db);
  if (deps.vault) {
    const vault = deps.vault.status();
    components.vault = {
      status: vault.sealed ? "sealed" : "ok",
      mode: vault.mode ?? null,
      sealed: vault.sealed,
    };
  }
  const path = modelsPath(deps.config);
  const free = await freeBytes(path);
  components.models = {
    status: free !== null && free < LOW_DISK_BYTES ? "degraded" : "ok",
    count: (await deps.store.list()).length,
    path,
    disk_free_bytes: free,
  };
  if (deps.sampler) {
    const sampler = deps.sampler.status();
    components.metrics = { status: "ok", samples: sampler.samples, interval_s: sampler.interval_s };
  }
  let status: HealthStatusWire = "ok";
  if (components.vault?.sealed || components.models.status === "degraded") status = "degraded";
  if (components.database?.status === "down") status = "down";
  return {
    status,
    version: deps.version,
    uptime_s: Math.floor((Date.now() - vitals.startedAt) / 1000),
    profile: deps.config.profile,
    components,
  };
}

/** `GET /` → HealthWire, 200 whatever the status (the body says it; the call itself worked). */
export function healthRoutes(deps: ServerDeps, vitals: ServerVitals): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => c.json(await platformHealth(deps, vitals)));
  return app;
}
