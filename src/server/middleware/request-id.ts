import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env.js";

// A client-chosen id is echoed only when it is short and plain, so it cannot smuggle
// header-splitting or log-forging characters into our logs and responses.
const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Gives every request an id (the client's `x-request-id` when sane, else a UUID) and sets it on
 * every response — errors and 404s included, because the header is also set after the rest of
 * the chain (and the error handler) produced the response.
 */
export function requestId(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const offered = c.req.header("x-request-id");
    const id = offered !== undefined && SAFE_ID.test(offered) ? offered : randomUUID();
    c.set("requestId", id);
    c.header("x-request-id", id);
    await next();
    if (!c.res.headers.has("x-request-id")) c.res.headers.set("x-request-id", id);
  };
}
