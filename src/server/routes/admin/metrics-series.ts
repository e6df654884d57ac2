/**
 * `GET /api/admin/metrics/series?range=15m|1h|24h&model=`: the dashboards' chart data from the
 * metrics sampler (src/metrics/sampler.ts; docs/admin-console.md).
 */
import { Hono } from "hono";
import { seriesQuerySchema, type MetricsSeriesWire } from "../../../api/admin-wire.js";
import { AppError } from "../../../errors.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { parseWire } from "../../validate.js";

export function metricsSeriesRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/series", (c) => {
    const query = parseWire(seriesQuerySchema, c.req.query());
    if (deps.sampler === undefined) throw new AppError("unsupported", "this server samples no metrics");
    const body: MetricsSeriesWire = deps.sampler.series(query.range, query.model);
    return c.json(body, 200, { "Cache-Control": "no-store" });
  });
  return app;
}
