import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { RevocationHub } from "../../auth/revocation.js";
import { SESSION_COOKIE, type ResolvedSession } from "../../auth/sessions.js";
import type { Principal } from "../../auth/types.js";
import { SCOPES } from "../../store/roles.js";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";
import { setSessionCookie } from "../routes/auth/cookie.js";

/** Query parameters where clients sometimes put keys. URLs end up in logs, history and proxies. */
const KEY_QUERY_PARAMS = ["api_key", "key", "token", "apikey", "access_token"];

export interface AuthenticateOptions {
  /** Config `auth.api`: `required` makes the API routes (Ollama, /v1, /metrics) need a principal. */
  api: "off" | "required";
  /** Config `auth.api_key`: a static key acting as an admin. */
  staticKey?: string;
  /** The running server's local CLI token (run/admin.token): acts as an admin. */
  localToken?: { matches(presented: string): boolean };
  /** Resolves an `aixcl_…` API key (KEYS' verifyApiKey on the platform database). */
  verifyApiKey?: (presented: string) => Promise<Principal | undefined>;
  /** Resolves a session cookie's id against the database (every request: revocation is immediate). */
  resolveSession?: (cookieId: string) => Promise<ResolvedSession | undefined>;
  /** Session inactivity timeout, ms: a refreshed session gets its cookie re-issued for this long. */
  sessionTtlMs?: number;
  /** Where authenticated requests are tracked so a revocation can cut them mid-stream. */
  hub?: RevocationHub;
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
 * The path as the access rules judge it: repeated slashes folded and lower-cased, so `/API//admin`
 * can never dodge the admin rule (whether or not a route would answer it).
 */
function canonicalPath(path: string): string {
  return path.replace(/\/{2,}/g, "/").toLowerCase();
}

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/** What a path demands of the caller: an admin, any principal, or nothing (the route decides). */
function requirement(path: string, api: "off" | "required"): "admin" | "principal" | "none" | "open" {
  const canonical = canonicalPath(path);
  if (under(canonical, "/api/admin")) return "admin";
  // Unsealing is how a sealed platform gets its secrets back: the passphrase is the credential,
  // and no credential could be checked anyway (sessions need the vault's secret).
  if (canonical === "/api/vault/unseal" || canonical === "/api/vault/status") return "open";
  // Load balancers probe it without credentials; it answers `{"status":"ok"}` and nothing else.
  if (canonical === "/api/health") return "open";
  // Login, logout, sign-up and "who am I" must answer anonymous callers.
  if (under(canonical, "/api/auth")) return "none";
  return api === "required" ? "principal" : "none";
}

const STATIC: Omit<Principal, "via"> = { role: "admin", scopes: SCOPES };

function unauthorized(c: Context<AppEnv>, message: string): AppError {
  c.header("WWW-Authenticate", 'Bearer realm="aixcl"');
  return new AppError("unauthorized", message);
}

/**
 * Resolves who a request acts as, in order: the local CLI token, the static `auth.api_key`, an
 * `aixcl_` API key (all as `Authorization: Bearer` or `x-api-key`), then the session cookie; sets
 * `c.var.principal`; and enforces the path's rule: `/api/admin/*` needs an admin (401 without a
 * principal, 403 for anyone else), the API routes need a principal when `auth.api` is required.
 * Static secrets are compared as SHA-256 digests with timingSafeEqual (no content or length leaks
 * through timing). A key in the URL is refused even when right: it has already leaked into logs.
 * Authenticated requests are registered with the revocation hub until their response closes.
 */
export function authenticate(options: AuthenticateOptions): MiddlewareHandler<AppEnv> {
  const staticKey = options.staticKey === undefined ? undefined : digest(options.staticKey);

  const fromKey = async (key: string): Promise<Principal | undefined> => {
    if (options.localToken?.matches(key)) return { ...STATIC, via: "local_token" };
    if (staticKey !== undefined && timingSafeEqual(digest(key), staticKey))
      return { ...STATIC, via: "static_key" };
    if (options.verifyApiKey && key.startsWith("aixcl_")) return options.verifyApiKey(key);
    return undefined;
  };

  return async (c, next) => {
    const url = new URL(c.req.url);
    if (KEY_QUERY_PARAMS.some((name) => url.searchParams.has(name))) {
      throw unauthorized(
        c,
        "unauthorized: API keys are not accepted in the URL; send an Authorization header",
      );
    }
    const rule = requirement(c.req.path, options.api);
    if (rule === "open") {
      await next();
      return;
    }

    const key = presentedKey(c.req.header("authorization"), c.req.header("x-api-key"));
    let principal: Principal | undefined;
    if (key !== undefined) {
      principal = await fromKey(key);
      // With auth off an unknown key is ignored, as Ollama ignores it: SDKs send placeholder keys.
      if (principal === undefined && rule !== "none") throw unauthorized(c, "unauthorized: invalid API key");
    } else if (options.resolveSession) {
      const cookie = getCookie(c, SESSION_COOKIE);
      if (cookie !== undefined) {
        const session = await options.resolveSession(cookie);
        principal = session?.principal;
        if (session?.touched && options.sessionTtlMs !== undefined) {
          setSessionCookie(c, cookie, options.sessionTtlMs);
        }
      }
    }

    if (principal === undefined && rule !== "none") {
      throw unauthorized(
        c,
        key === undefined ? "unauthorized: API key or login required" : "unauthorized: invalid API key",
      );
    }
    if (rule === "admin" && (principal?.role !== "admin" || !principal.scopes.includes("admin"))) {
      throw new AppError("forbidden", "forbidden: admin rights required");
    }
    if (principal !== undefined) c.set("principal", principal);

    const outgoing = c.env?.outgoing;
    if (principal !== undefined && options.hub && outgoing && (principal.userId ?? principal.credentialId)) {
      const release = options.hub.register(principal, outgoing);
      outgoing.once("close", release);
      c.set("untrackRequest", release);
    }
    await next();
  };
}
