import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Whether `origin` is this server's own origin as the browser reached it: the web app opened at
 * `http://192.168.1.5:11434` posts with that Origin. The Host it is compared with has passed the
 * Host check (middleware/host-check.ts, mounted before this), so a DNS-rebinding page, whose Host
 * is its own name, is refused there and never counts as same-origin here.
 */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && url.host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Refuses state-changing requests a web page made on a visitor's browser: any page can POST a
 * `text/plain` body to localhost without a preflight. Browsers mark such requests with
 * `Sec-Fetch-Site: cross-site` and an `Origin`; requests without an Origin (curl, SDKs) pass, and
 * so do the server's own pages (same origin).
 */
export function crossSite(allowedOrigin: (origin: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const host = c.req.header("host");
    const isAllowedOrigin = (origin: string) => allowedOrigin(origin) || isSameOrigin(origin, host);
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
