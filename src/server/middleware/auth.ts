import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";

/** Query parameters where clients sometimes put keys. URLs end up in logs, history and proxies. */
const KEY_QUERY_PARAMS = ["api_key", "key", "token", "apikey", "access_token"];

export interface ApiAuthOptions {
  /** The accepted key (config `auth.api_key`). */
  apiKey: string;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
function presentedKey(authorization: string | undefined, xApiKey: string | undefined): string | undefined {
  if (authorization !== undefined) {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization);
    if (match) return match[1];
  }
  return xApiKey?.trim() || undefined;
}

/**
 * Requires the API key on every request (preflights are answered before this runs). Keys are
 * compared as SHA-256 digests with timingSafeEqual, so neither content nor length leaks through
 * timing. A key in the URL is refused even when right: it has already leaked into logs.
 */
export function apiAuth(options: ApiAuthOptions): MiddlewareHandler<AppEnv> {
  const expected = digest(options.apiKey);
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (KEY_QUERY_PARAMS.some((name) => url.searchParams.has(name))) {
      throw new AppError(
        "unauthorized",
        "unauthorized: API keys are not accepted in the URL; send an Authorization header",
      );
    }
    const key = presentedKey(c.req.header("authorization"), c.req.header("x-api-key"));
    if (key === undefined || !timingSafeEqual(digest(key), expected)) {
      c.header("WWW-Authenticate", 'Bearer realm="aixcl"');
      throw new AppError(
        "unauthorized",
        key === undefined ? "unauthorized: API key required" : "unauthorized: invalid API key",
      );
    }
    await next();
  };
}
