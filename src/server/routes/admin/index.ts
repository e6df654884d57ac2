import { Hono } from "hono";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { auditRoutes } from "./audit.js";
import { backupRoutes } from "./backup.js";
import { healthRoutes, type ServerVitals } from "./health.js";
import { logRoutes } from "./logs.js";
import { metricsSeriesRoutes } from "./metrics-series.js";
import { keyRoutes } from "./keys.js";
import { signupSettingRoutes, userRoutes } from "./users.js";

/**
 * The admin API, mounted at `/api/admin`. The authenticate middleware has already required an
 * admin principal for every path under it (401 without one, 403 for anyone else). Each area adds
 * one `.route()` line here.
 */
export function adminRoutes(deps: ServerDeps, vitals: ServerVitals): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.route("/users", userRoutes(deps));
  app.route("/keys", keyRoutes(deps));
  app.route("/settings/signup", signupSettingRoutes(deps));
  app.route("/audit", auditRoutes(deps));
  app.route("/backup", backupRoutes(deps));
  app.route("/health", healthRoutes(deps, vitals));
  app.route("/metrics", metricsSeriesRoutes(deps));
  app.route("/logs", logRoutes(deps, vitals.closing));
  return app;
}
