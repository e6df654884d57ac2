/**
 * Which database failures are the database's (unreachable, shutting down, out of connections or
 * resources) rather than the statement's. The former become AppError `database_error` (503 with
 * Retry-After: the request was fine, the client may retry once the database is back); the latter
 * — syntax errors, constraint violations such as a unique violation that callers handle by its
 * SQLSTATE (src/store/users.ts, src/auth/api-keys.ts) — pass through untouched.
 */
import { AppError } from "../errors.js";

/** Seconds a client is told to wait before retrying while the database is unavailable. */
const DATABASE_RETRY_AFTER_S = 2;

/**
 * SQLSTATE classes and codes that say the server, not the statement, failed: 08 connection
 * exception, 28 invalid authorization (the role's password changed under a running pool), 53
 * insufficient resources (53300 too many connections, disk full, out of memory), 58 system error
 * (I/O), 57P01–57P05 shutdown / crash / cannot connect now / database dropped / idle session
 * timeout, 3D000 the database does not exist (dropped).
 */
const UNAVAILABLE_CLASSES = new Set(["08", "28", "53", "58"]);
const UNAVAILABLE_CODES = new Set(["57P01", "57P02", "57P03", "57P04", "57P05", "3D000"]);

/** An error the server sent with a SQLSTATE (node-postgres and PGlite both name it `code`). */
export function sqlState(error: unknown): string | undefined {
  const { code, severity } = (error ?? {}) as { code?: unknown; severity?: unknown };
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) && typeof severity === "string"
    ? code
    : undefined;
}

/** Whether a SQLSTATE says the database is unavailable rather than the statement wrong. */
export function isUnavailableState(state: string): boolean {
  return UNAVAILABLE_CLASSES.has(state.slice(0, 2)) || UNAVAILABLE_CODES.has(state);
}

/** A Node system error (ECONNREFUSED, ECONNRESET, EPIPE, ENOSPC…): the OS, not the SQL, failed. */
export function isSystemError(error: unknown): boolean {
  const { errno, syscall } = (error ?? {}) as { errno?: unknown; syscall?: unknown };
  return typeof errno === "number" || typeof syscall === "string";
}

/** The 503 a request gets while the database is unavailable; the driver's error is the cause (logged only). */
export function databaseUnavailable(cause: unknown): AppError {
  return new AppError("database_error", "database unavailable; retry later", {
    cause,
    retryAfter: DATABASE_RETRY_AFTER_S,
  });
}
