import { Hono } from "hono";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { auditRoutes } from "./audit.js";
import { backupRoutes } from "./backup.js";
import { keyRoutes } from "./keys.js";
import { signupSettingRoutes, userRoutes } from "./users.js";

/**
 * The admin API, mounted at `/api/admin`. The authenticate middleware has already required an
 * admin principal for every path under it (401 without one, 403 for anyone else). Each area adds
 * one `.route()` line here.
 */
export function adminRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.route("/users", userRoutes(deps));
  app.route("/keys", keyRoutes(deps));
  app.route("/settings/signup", signupSettingRoutes(deps));
  app.route("/audit", auditRoutes(deps));
  app.route("/backup", backupRoutes(deps));
  return app;
}
