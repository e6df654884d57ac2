import type { Context, MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { Metrics } from "../../metrics/types.js";
import type { AppEnv } from "../app-env.js";

/**
 * The route pattern that answered (`/api/blobs/:digest`), never the raw URL: raw paths would let
 * any client mint unbounded label values. Middleware is registered for method ALL, so the last
 * matched non-ALL entry is the route; when there is none the request matched nothing.
 */
function routePattern(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    const route = routes[i];
    if (route && route.method !== "ALL") return route.path;
  }
  return "unmatched";
}

/**
 * Reports each finished request to the metrics registry. A streamed response finishes when its
 * last byte is written (or the client goes away), not when the handler returns, so on Node the
 * observation waits for the response's `close` event.
 */
export function observeRequests(metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = process.hrtime.bigint();
    const method = c.req.method;
    const report = () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      metrics.observeRequest(routePattern(c), method, c.res.status, seconds);
    };
    await next();
    const outgoing = c.env?.outgoing;
    if (outgoing && !outgoing.writableFinished && typeof outgoing.once === "function") {
      outgoing.once("close", report);
    } else {
      report();
    }
  };
}
