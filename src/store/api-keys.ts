/**
 * The `api_keys` table: parameterized statements only. The full key never reaches this layer —
 * only its visible prefix and its SHA-256 (src/auth/api-keys.ts makes both) — so nothing here can
 * leak it. Every statement that reads or changes a key can be scoped to its owner.
 */
import type { Role, Scope } from "./roles.js";
import type { Queryable } from "./types.js";

/** A key as listings show it: never the hash, never the key. */
export interface ApiKeyRecord {
  id: string;
  userId: string;
  /** The owner's username (listings and the CLI show it). */
  username: string;
  name: string;
  /** The visible part of the key (`aixcl_<prefix>_…`), unique. */
  prefix: string;
  scopes: Scope[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

/** What verification needs about a usable key: its hash and its owner's current role. */
export interface ApiKeyCredential {
  id: string;
  keyHash: string;
  scopes: Scope[];
  lastUsedAt: Date | null;
  userId: string;
  username: string;
  role: Role;
}

export interface NewApiKeyRow {
  userId: string;
  name: string;
  prefix: string;
  keyHash: string;
  scopes: readonly Scope[];
  expiresAt?: Date;
}

interface KeyRow {
  id: string;
  user_id: string;
  username: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: Date;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
}

const RECORD_COLUMNS =
  "k.id, k.user_id, u.username, k.name, k.prefix, k.scopes, k.created_at, k.expires_at, k.last_used_at, k.revoked_at";

function toRecord(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    userId: row.user_id,
    username: row.username,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
  };
}

/** Inserts a key row. A prefix collision surfaces as the driver's unique violation (SQLSTATE 23505). */
export async function insertApiKey(db: Queryable, row: NewApiKeyRow): Promise<ApiKeyRecord> {
  const result = await db.query<KeyRow>(
    `WITH k AS (
       INSERT INTO api_keys (user_id, name, prefix, key_hash, scopes, expires_at)
       VALUES ($1, $2, $3, $4, $5::text[], $6)
       RETURNING *
     )
     SELECT ${RECORD_COLUMNS} FROM k JOIN users u ON u.id = k.user_id`,
    [row.userId, row.name, row.prefix, row.keyHash, [...row.scopes], row.expiresAt ?? null],
  );
  const inserted = result.rows[0];
  if (!inserted) throw new Error("INSERT … RETURNING returned no row");
  return toRecord(inserted);
}

/**
 * The usable key with this prefix: not revoked, not expired, owned by an active user. Anything
 * else is indistinguishable from an unknown prefix, so callers answer all of them the same way.
 */
export async function findUsableApiKey(db: Queryable, prefix: string): Promise<ApiKeyCredential | undefined> {
  const result = await db.query<{
    id: string;
    key_hash: string;
    scopes: Scope[];
    last_used_at: Date | null;
    user_id: string;
    username: string;
    role: Role;
  }>(
    `SELECT k.id, k.key_hash, k.scopes, k.last_used_at, u.id AS user_id, u.username, u.role
       FROM api_keys k JOIN users u ON u.id = k.user_id
      WHERE k.prefix = $1
        AND k.revoked_at IS NULL
        AND (k.expires_at IS NULL OR k.expires_at > now())
        AND u.status = 'active'`,
    [prefix],
  );
  const row = result.rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    keyHash: row.key_hash,
    scopes: row.scopes,
    lastUsedAt: row.last_used_at,
    userId: row.user_id,
    username: row.username,
    role: row.role,
  };
}

/** Records a use. The WHERE makes a concurrent duplicate a no-op rather than a second write. */
export async function touchApiKey(db: Queryable, id: string, minIntervalSeconds: number): Promise<void> {
  await db.query(
    `UPDATE api_keys SET last_used_at = now()
      WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
    [id, minIntervalSeconds],
  );
}

export interface ApiKeyFilter {
  /** Only this user's keys; undefined lists everyone's (admins). */
  userId?: string;
}

/** Keys newest first, revoked and expired ones included (listings show their state). */
export async function selectApiKeys(db: Queryable, filter: ApiKeyFilter = {}): Promise<ApiKeyRecord[]> {
  const result = await db.query<KeyRow>(
    `SELECT ${RECORD_COLUMNS} FROM api_keys k JOIN users u ON u.id = k.user_id
      WHERE ($1::uuid IS NULL OR k.user_id = $1::uuid)
      ORDER BY k.created_at DESC, k.id`,
    [filter.userId ?? null],
  );
  return result.rows.map(toRecord);
}

/** Which key a revoke names: its id (a uuid) or its visible prefix. */
export type ApiKeyRef = { id: string } | { prefix: string };

/**
 * Marks a key revoked (once: a second revoke keeps the first time) and returns it; undefined
 * when no key matches — including another user's key when `userId` scopes the call.
 */
export async function markApiKeyRevoked(
  db: Queryable,
  ref: ApiKeyRef,
  filter: ApiKeyFilter = {},
): Promise<ApiKeyRecord | undefined> {
  const [column, value] = "id" in ref ? ["k.id = $1::uuid", ref.id] : ["k.prefix = $1", ref.prefix];
  const result = await db.query<KeyRow>(
    `WITH k AS (
       UPDATE api_keys k SET revoked_at = COALESCE(k.revoked_at, now())
        WHERE ${column} AND ($2::uuid IS NULL OR k.user_id = $2::uuid)
        RETURNING k.*
     )
     SELECT ${RECORD_COLUMNS} FROM k JOIN users u ON u.id = k.user_id`,
    [value, filter.userId ?? null],
  );
  const row = result.rows[0];
  return row ? toRecord(row) : undefined;
}

/** The owner of a user id as key creation needs it; undefined for an unknown id. */
export async function findKeyOwner(
  db: Queryable,
  userId: string,
): Promise<{ id: string; username: string; role: Role } | undefined> {
  const result = await db.query<{ id: string; username: string; role: Role }>(
    "SELECT id, username, role FROM users WHERE id = $1::uuid",
    [userId],
  );
  return result.rows[0];
}

/** The oldest active admin: the owner of keys created by a caller that is no user (the local CLI token). */
export async function findFirstAdmin(
  db: Queryable,
): Promise<{ id: string; username: string; role: Role } | undefined> {
  const result = await db.query<{ id: string; username: string; role: Role }>(
    "SELECT id, username, role FROM users WHERE role = 'admin' AND status = 'active' ORDER BY created_at, id LIMIT 1",
  );
  return result.rows[0];
}
