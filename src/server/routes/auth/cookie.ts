import type { Context } from "hono";
import { isLoopbackHost } from "../../../lib/addresses.js";
import { SESSION_COOKIE } from "../../../auth/sessions.js";
import type { AppEnv } from "../../app-env.js";

/** The host name of the request's Host header, without port or IPv6 brackets. */
function requestHostName(c: Context<AppEnv>): string {
  const host = c.req.header("host") ?? "";
  const bracketed = /^\[([^\]]*)\]/.exec(host);
  if (bracketed) return bracketed[1] ?? "";
  return host.replace(/:\d*$/, "");
}

/**
 * Whether the cookie is marked Secure: when the request came over TLS, and on loopback names,
 * which browsers treat as secure contexts even over http. Browsers refuse a `__Host-` cookie
 * without Secure, so marking it there is what lets the default http://127.0.0.1 setup log in;
 * over plain http to any other name the cookie stays unmarked (and a browser will not keep it:
 * sessions there need TLS).
 */
function secure(c: Context<AppEnv>): boolean {
  const socket = c.env?.incoming?.socket as { encrypted?: boolean } | undefined;
  return socket?.encrypted === true || isLoopbackHost(requestHostName(c));
}

/** Sets (or refreshes) the session cookie: HttpOnly, SameSite=Lax, Path=/, no Domain. */
export function setSessionCookie(c: Context<AppEnv>, id: string, ttlMs: number): void {
  const maxAge = Math.max(1, Math.floor(ttlMs / 1000));
  const attributes = [`${SESSION_COOKIE}=${id}`, "Path=/", `Max-Age=${maxAge}`, "HttpOnly", "SameSite=Lax"];
  if (secure(c)) attributes.push("Secure");
  c.header("Set-Cookie", attributes.join("; "), { append: true });
}

/** Tells the browser to drop the session cookie. */
export function clearSessionCookie(c: Context<AppEnv>): void {
  const attributes = [`${SESSION_COOKIE}=`, "Path=/", "Max-Age=0", "HttpOnly", "SameSite=Lax"];
  if (secure(c)) attributes.push("Secure");
  c.header("Set-Cookie", attributes.join("; "), { append: true });
}
