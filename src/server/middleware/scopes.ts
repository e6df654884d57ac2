import type { MiddlewareHandler } from "hono";
import { expandScopes } from "../../auth/api-keys.js";
import type { Scope } from "../../store/roles.js";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";

/** Ollama routes that add, change or remove models (any method: the path alone decides). */
const MODEL_WRITE_PATHS = new Set(["/api/pull", "/api/push", "/api/create", "/api/copy", "/api/delete"]);

/**
 * The path as routing sees it, canonicalized: repeated slashes folded, a trailing slash dropped,
 * lower-cased. Hono matches the decoded path exactly, so this only ever widens what counts as a
 * protected route — `/API//pull/` is judged as `/api/pull` even though no route answers it.
 */
function canonicalPath(path: string): string {
  const folded = path.replace(/\/{2,}/g, "/").toLowerCase();
  return folded.length > 1 && folded.endsWith("/") ? folded.slice(0, -1) : folded;
}

/**
 * The scope a request needs, or undefined when scopes do not apply (the login routes, which
 * check their own rules; the web UI's static files; /metrics, which needs only authentication).
 */
export function requiredScope(method: string, rawPath: string): Scope | undefined {
  const path = canonicalPath(rawPath);
  const under = (prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
  if (under("/api/admin")) return "admin";
  if (MODEL_WRITE_PATHS.has(path)) return "models:write";
  if (under("/api/blobs")) {
    const verb = method.toUpperCase();
    return verb === "GET" || verb === "HEAD" ? "inference" : "models:write";
  }
  // The load balancers' probe is public (middleware/auth.ts): no credential, so no scope.
  if (path === "/api/health") return undefined;
  // Session and vault routes decide for themselves who may do what.
  if (under("/api/auth") || under("/api/vault")) return undefined;
  if (under("/api") || under("/v1")) return "inference";
  return undefined;
}

/**
 * Enforces the scope of the principal the authenticate middleware resolved (an API key's
 * scopes, or those USERS derives from a session's role). Without a principal it does nothing:
 * with `auth.api: off` the loopback API stays open as Ollama's is, and where a principal is
 * required the authenticate middleware has already answered 401.
 */
export function requireScopes(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const principal = c.get("principal");
    if (principal !== undefined) {
      const needed = requiredScope(c.req.method, c.req.path);
      if (needed !== undefined && !expandScopes(principal.scopes).includes(needed)) {
        throw new AppError("forbidden", `forbidden: this credential lacks the ${needed} scope`);
      }
    }
    await next();
  };
}
