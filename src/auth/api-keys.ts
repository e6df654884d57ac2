/**
 * API keys: `aixcl_<prefix>_<secret>`. The prefix (8 base62 characters) identifies a key in
 * listings and logs; the secret (43 base62 characters, ~256 bits) is what proves possession.
 * The database keeps the prefix and the SHA-256 of the whole key, never the key: it is shown
 * once, at creation. Every request re-checks its key against the database (no cache), so a
 * revoke, an expiry or the owner's deletion takes effect on the very next request.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { AppError } from "../errors.js";
import {
  findFirstAdmin,
  findKeyOwner,
  findUsableApiKey,
  insertApiKey,
  markApiKeyRevoked,
  selectApiKeys,
  touchApiKey,
  type ApiKeyRecord,
} from "../store/api-keys.js";
import type { Queryable } from "../store/types.js";
import { SCOPES, type Role, type Scope } from "../store/roles.js";
import type { Principal } from "./types.js";
import { revokeOpenRequests } from "./revocation.js";
import { findUser, recordAudit, type Actor } from "./users.js";

export type { ApiKeyRecord } from "../store/api-keys.js";

const KEY_PREFIX = "aixcl_";
const PREFIX_LENGTH = 8;
const SECRET_LENGTH = 43;
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const KEY_PATTERN = new RegExp(
  `^${KEY_PREFIX}([0-9A-Za-z]{${PREFIX_LENGTH}})_([0-9A-Za-z]{${SECRET_LENGTH}})$`,
);
const PREFIX_PATTERN = new RegExp(`^[0-9A-Za-z]{${PREFIX_LENGTH}}$`);
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Longest key name (the table's CHECK). */
const MAX_KEY_NAME_LENGTH = 128;
/** last_used_at is written at most this often per key: a busy key must not cost a write per request. */
const TOUCH_INTERVAL_SECONDS = 60;

/** `length` base62 characters, unbiased: bytes ≥ 248 (= 4 × 62) are dropped, not folded. */
function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/**
 * SHA-256 of the whole key, hex. A fast hash is right here: the key is 256 random bits, so
 * there is nothing to brute-force that a slow hash (argon2, as for passwords) would protect,
 * and verification runs on every request.
 */
function hashKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** The scopes a key's scope list grants: `admin` implies every other scope. */
export function expandScopes(scopes: readonly Scope[]): Scope[] {
  if (scopes.includes("admin")) return [...SCOPES];
  return SCOPES.filter((scope) => scopes.includes(scope));
}

/** Parses scope names (CLI flags, request bodies); unknown names are an invalid_request. */
export function parseScopes(values: readonly string[]): Scope[] {
  for (const value of values) {
    if (!(SCOPES as readonly string[]).includes(value)) {
      throw new AppError("invalid_request", `unknown scope "${value}" (use ${SCOPES.join(", ")})`, {
        param: "scopes",
      });
    }
  }
  return SCOPES.filter((scope) => values.includes(scope));
}

/** Throws invalid_request unless `name` fits the table and holds no control characters. */
function checkName(name: string): void {
  if (name.length === 0 || name.length > MAX_KEY_NAME_LENGTH) {
    throw new AppError("invalid_request", `key name must be 1 to ${MAX_KEY_NAME_LENGTH} characters`, {
      param: "name",
    });
  }
  // Names are printed in terminals (aixcl keys list): no escape sequences or line breaks.
  if (/\p{Cc}/u.test(name)) {
    throw new AppError("invalid_request", "key name must not contain control characters", { param: "name" });
  }
}

export interface KeyOwner {
  id: string;
  username: string;
  role: Role;
}

/**
 * Who a new key belongs to: the user named `username`, else the user `userId`, else — for a
 * caller that is no user (the local CLI token, the static key) — the oldest active admin.
 */
export async function resolveKeyOwner(
  db: Queryable,
  who: { username?: string; userId?: string | undefined },
): Promise<KeyOwner> {
  if (who.username !== undefined) {
    const user = await findUser(db, who.username);
    if (!user) throw new AppError("not_found", "user not found", { param: "user" });
    return user;
  }
  if (who.userId !== undefined) {
    const user = UUID_PATTERN.test(who.userId) ? await findKeyOwner(db, who.userId) : undefined;
    if (!user) throw new AppError("not_found", "user not found", { param: "user" });
    return user;
  }
  const admin = await findFirstAdmin(db);
  if (!admin)
    throw new AppError("invalid_request", "no active admin account: name the key's user", { param: "user" });
  return admin;
}

export interface CreateApiKeyInput {
  /** The owner. */
  userId: string;
  name: string;
  /** Granted scopes; default `["inference"]`. `admin` needs an admin owner. */
  scopes?: readonly Scope[];
  /** When the key stops working; must be in the future. Default: never. */
  expiresAt?: Date;
}

export interface CreatedApiKey {
  /** The full key: returned here once and stored nowhere. */
  key: string;
  record: ApiKeyRecord;
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "23505";
}

/** Who changes keys when nobody is named: the CLI working on the database directly. */
const SYSTEM: Actor = { name: "system" };

/**
 * Creates a key for `userId` (audited as `key.create` by `actor`); the returned `key` is the
 * only copy that will ever exist.
 */
export async function createApiKey(
  db: Queryable,
  input: CreateApiKeyInput,
  actor: Actor = SYSTEM,
): Promise<CreatedApiKey> {
  checkName(input.name);
  const scopes = input.scopes === undefined ? (["inference"] as Scope[]) : parseScopes(input.scopes);
  if (scopes.length === 0) {
    throw new AppError("invalid_request", "a key needs at least one scope", { param: "scopes" });
  }
  if (input.expiresAt !== undefined) {
    if (Number.isNaN(input.expiresAt.getTime()) || input.expiresAt.getTime() <= Date.now()) {
      throw new AppError("invalid_request", "expiry must be in the future", { param: "expires_at" });
    }
  }
  if (!UUID_PATTERN.test(input.userId)) throw new AppError("not_found", "user not found");
  const owner = await findKeyOwner(db, input.userId);
  if (!owner) throw new AppError("not_found", "user not found");
  if (scopes.includes("admin") && owner.role !== "admin") {
    throw new AppError("invalid_request", "the admin scope needs an admin account", { param: "scopes" });
  }
  // 62^8 prefixes make a collision unlikely, not impossible: the UNIQUE index decides, and a
  // fresh prefix is drawn when it refuses.
  for (let attempt = 0; ; attempt++) {
    const key = `${KEY_PREFIX}${randomBase62(PREFIX_LENGTH)}_${randomBase62(SECRET_LENGTH)}`;
    const prefix = key.slice(KEY_PREFIX.length, KEY_PREFIX.length + PREFIX_LENGTH);
    try {
      const record = await insertApiKey(db, {
        userId: owner.id,
        name: input.name,
        prefix,
        keyHash: hashKey(key),
        scopes,
        ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
      });
      await recordAudit(db, actor, "key.create", record.prefix, {
        name: record.name,
        user: record.username,
        scopes: record.scopes,
        expires_at: record.expiresAt?.toISOString() ?? null,
      });
      return { key, record };
    } catch (error) {
      if (!isUniqueViolation(error) || attempt >= 3) throw error;
    }
  }
}

/**
 * The principal a presented key authenticates, or undefined for anything that is not a live key
 * of an active user (malformed, unknown prefix, wrong secret, revoked, expired, owner deleted,
 * disabled or pending) — callers answer all of these with the same 401. A key acts with admin
 * rights only while it has the admin scope AND its owner is still an admin: demoting a user
 * takes the power from their keys at once.
 */
export async function verifyApiKey(db: Queryable, presented: string): Promise<Principal | undefined> {
  // Checked before any query: header junk (or an injection attempt) never reaches the database.
  const match = KEY_PATTERN.exec(presented);
  if (!match) return undefined;
  const credential = await findUsableApiKey(db, match[1] as string);
  if (!credential) return undefined;
  const expected = Buffer.from(credential.keyHash, "hex");
  const actual = Buffer.from(hashKey(presented), "hex");
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;

  const stale =
    credential.lastUsedAt === null ||
    Date.now() - credential.lastUsedAt.getTime() > TOUCH_INTERVAL_SECONDS * 1000;
  if (stale) await touchApiKey(db, credential.id, TOUCH_INTERVAL_SECONDS);

  let scopes = expandScopes(credential.scopes);
  if (credential.role !== "admin") scopes = scopes.filter((scope) => scope !== "admin");
  const role: Role = scopes.includes("admin") ? "admin" : "user";
  return {
    userId: credential.userId,
    username: credential.username,
    role,
    scopes,
    via: "api_key",
    credentialId: credential.id,
  };
}

export interface KeyOwnerFilter {
  /** Restricts the call to this user's keys; undefined = every user's (admins only). */
  userId?: string;
}

/** Keys newest first, never with their hash. */
export function listApiKeys(db: Queryable, filter: KeyOwnerFilter = {}): Promise<ApiKeyRecord[]> {
  if (filter.userId !== undefined && !UUID_PATTERN.test(filter.userId)) return Promise.resolve([]);
  return selectApiKeys(db, filter);
}

/**
 * Revokes a key named by its id or its visible prefix (audited as `key.revoke` by `actor`) and
 * cuts the requests still streaming with it on the server bound to `db` (the next request fails
 * anyway: keys are checked every time). With `userId`, only that user's keys can be named:
 * another user's key answers not_found, exactly like a key that does not exist. Revoking a
 * revoked key returns it unchanged.
 */
export async function revokeApiKey(
  db: Queryable,
  idOrPrefix: string,
  filter: KeyOwnerFilter = {},
  actor: Actor = SYSTEM,
): Promise<ApiKeyRecord> {
  const owner = filter.userId;
  const ref = UUID_PATTERN.test(idOrPrefix)
    ? { id: idOrPrefix.toLowerCase() }
    : PREFIX_PATTERN.test(idOrPrefix)
      ? { prefix: idOrPrefix }
      : undefined;
  const record =
    ref && (owner === undefined || UUID_PATTERN.test(owner))
      ? await markApiKeyRevoked(db, ref, owner === undefined ? {} : { userId: owner })
      : undefined;
  if (!record) throw new AppError("not_found", "API key not found");
  revokeOpenRequests(db, { credentialId: record.id });
  await recordAudit(db, actor, "key.revoke", record.prefix, { name: record.name, user: record.username });
  return record;
}
