import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Refuses state-changing requests a web page made on a visitor's browser: any page can POST a
 * `text/plain` body to localhost without a preflight. Browsers mark such requests with
 * `Sec-Fetch-Site: cross-site` and an `Origin`; requests without an Origin (curl, SDKs) pass.
 */
export function crossSite(isAllowedOrigin: (origin: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!SAFE_METHODS.has(c.req.method)) {
      const origin = c.req.header("origin");
      const fetchSite = c.req.header("sec-fetch-site");
      if (origin !== undefined && !isAllowedOrigin(origin)) {
        throw new AppError("cross_site", "forbidden: cross-site request from a disallowed origin");
      }
      if (fetchSite === "cross-site" && (origin === undefined || !isAllowedOrigin(origin))) {
        throw new AppError("cross_site", "forbidden: cross-site request");
      }
    }
    await next();
  };
}
