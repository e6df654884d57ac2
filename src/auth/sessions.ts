/**
 * Web sessions: a random 256-bit id in a `__Host-` cookie, stored server-side only as its
 * HMAC-SHA256 under the vault's session secret (plain SHA-256 when the platform has no vault).
 * The secret makes a stolen table useless for forging, and rotating it ends every session even
 * before their rows are deleted; while the vault is sealed no session can be checked (503). A new id at every login (no fixation), checked against the database on every request
 * (revocation is immediate), ended server-side at logout. Ending sessions also cuts the requests
 * they have in flight, through the revocation hub of the server bound to the database.
 */
import { createHash, createHmac, randomBytes } from "node:crypto";
import {
  deleteAllSessions,
  deleteSession,
  deleteUserSessions,
  insertSession,
  lookupSession,
} from "../store/sessions.js";
import type { Database, Queryable } from "../store/types.js";
import { revokeOpenRequests } from "./revocation.js";
import { SCOPES, type Role, type Scope } from "../store/roles.js";
import type { Principal } from "./types.js";

/**
 * The session cookie. The `__Host-` prefix makes browsers refuse it unless it is Secure, Path=/
 * and without Domain: no subdomain or plain-http page can plant or overwrite it.
 */
export const SESSION_COOKIE = "__Host-aixcl_session";

/** A session id as the cookie carries it: 32 random bytes, base64url (43 characters). */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The row key of a session id: HMAC-SHA256 under `secret` (the vault's session.secret). */
function hashSessionId(id: string, secret: string | undefined): string {
  const mac = secret === undefined ? createHash("sha256") : createHmac("sha256", secret);
  return mac.update(id, "utf8").digest("hex");
}

/** What a session may do: an admin everything, a user inference only. */
function scopesForRole(role: Role): readonly Scope[] {
  return role === "admin" ? SCOPES : ["inference"];
}

export interface StartedSession {
  /** The cookie value (secret; never logged or stored). */
  id: string;
  /** SHA-256 of the id: the row key and the credential id open requests are matched on. */
  idHash: string;
}

export interface SessionOrigin {
  address?: string;
  userAgent?: string;
}

/** Longest user agent kept with a session (the header is client-controlled). */
const MAX_USER_AGENT = 512;

/** Creates a session for a user who just proved their password. */
export async function startSession(
  db: Queryable,
  userId: string,
  ttlMs: number,
  origin: SessionOrigin = {},
  secret?: string,
): Promise<StartedSession> {
  const id = randomBytes(32).toString("base64url");
  const idHash = hashSessionId(id, secret);
  await insertSession(db, {
    idHash,
    userId,
    ttlMs,
    address: origin.address,
    userAgent: origin.userAgent?.slice(0, MAX_USER_AGENT),
  });
  return { id, idHash };
}

export interface ResolvedSession {
  principal: Principal;
  /** The expiry moved forward on this request (re-issue the cookie). */
  touched: boolean;
}

/** The principal of a cookie's session, or undefined when it is unknown, expired or its user inactive. */
export async function resolveSession(
  db: Queryable,
  cookieId: string,
  ttlMs: number,
  secret?: string,
): Promise<ResolvedSession | undefined> {
  // Malformed ids cannot exist: skip the database round trip (and keep junk out of queries).
  if (!SESSION_ID_PATTERN.test(cookieId)) return undefined;
  const idHash = hashSessionId(cookieId, secret);
  const found = await lookupSession(db, idHash, ttlMs);
  if (!found) return undefined;
  return {
    principal: {
      userId: found.userId,
      username: found.username,
      role: found.role,
      scopes: scopesForRole(found.role),
      via: "session",
      credentialId: idHash,
    },
    touched: found.touched,
  };
}

/** Ends one session (logout) and cuts its open requests. Returns the user id when it existed. */
export async function endSession(
  db: Database,
  cookieId: string,
  secret?: string,
): Promise<string | undefined> {
  const idHash = hashSessionId(cookieId, secret);
  const userId = await deleteSession(db, idHash);
  revokeOpenRequests(db, { credentialId: idHash, via: "session" });
  return userId;
}

/** Ends every session of a user and cuts their session requests. Returns how many sessions ended. */
export async function endUserSessions(db: Database, userId: string): Promise<number> {
  const ended = await deleteUserSessions(db, userId);
  revokeOpenRequests(db, { userId, via: "session" });
  return ended;
}

/**
 * Ends every session of every user, open streams included (session secret rotation). Returns
 * how many sessions ended.
 */
export async function revokeAllSessions(db: Database): Promise<number> {
  const ended = await deleteAllSessions(db);
  revokeOpenRequests(db, { via: "session" });
  return ended;
}
