import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";

/**
 * Request headers browsers may send: Ollama's list (its routes.go CORS config), which covers the
 * `x-stainless-*` headers the openai SDK adds, plus `x-api-key` for our API auth.
 */
const ALLOWED_REQUEST_HEADERS = [
  "Authorization",
  "Content-Type",
  "User-Agent",
  "Accept",
  "X-Requested-With",
  "x-api-key",
  "x-request-id",
  "OpenAI-Beta",
  "x-stainless-arch",
  "x-stainless-async",
  "x-stainless-custom-poll-interval",
  "x-stainless-helper-method",
  "x-stainless-lang",
  "x-stainless-os",
  "x-stainless-package-version",
  "x-stainless-poll-helper",
  "x-stainless-retry-count",
  "x-stainless-runtime",
  "x-stainless-runtime-version",
  "x-stainless-timeout",
];
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";
const EXPOSED_HEADERS = "x-request-id, retry-after";
const PREFLIGHT_MAX_AGE = "600";

/**
 * CORS with an allow-list. An allowed Origin is echoed (never `*`, and no credentials mode: the
 * API authenticates with headers, not cookies). Preflights from allowed origins get 204; from
 * any other origin 403, as Ollama answers. Simple requests from other origins get no CORS
 * headers, so the browser hides the response; state-changing ones are stopped by crossSite().
 */
export function cors(isAllowedOrigin: (origin: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const origin = c.req.header("origin");
    const preflight =
      c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
    if (origin === undefined) {
      if (preflight) throw new AppError("cross_site", "forbidden: preflight without origin");
      await next();
      return;
    }
    const allowed = isAllowedOrigin(origin);
    if (preflight) {
      if (!allowed) throw new AppError("cross_site", "forbidden: origin not allowed");
      return c.body(null, 204, {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_REQUEST_HEADERS.join(", "),
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
        Vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      });
    }
    await next();
    if (allowed) {
      c.res.headers.set("Access-Control-Allow-Origin", origin);
      c.res.headers.set("Access-Control-Expose-Headers", EXPOSED_HEADERS);
    }
    c.res.headers.append("Vary", "Origin");
  };
}
