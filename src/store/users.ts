/**
 * The `users` table. Parameterized SQL only; usernames are unique case-insensitively (the
 * `users_username_key` index on lower(username)), so every lookup goes through lower().
 * The password hash leaves this module only through `findUserCredentials`, for login.
 */
import type { Role } from "./roles.js";
import type { Queryable } from "./types.js";

export type UserStatus = "active" | "pending" | "disabled";

export interface UserRecord {
  id: string;
  username: string;
  role: Role;
  status: UserStatus;
  createdAt: Date;
  updatedAt: Date;
  /** The last successful login; null before the first (and for rows older than migration 3). */
  lastLoginAt: Date | null;
}

interface UserRow {
  id: string;
  username: string;
  role: Role;
  status: UserStatus;
  created_at: Date | string;
  updated_at: Date | string;
  last_login_at: Date | string | null;
}

const COLUMNS = "id, username, role, status, created_at, updated_at, last_login_at";

function toRecord(row: UserRow): UserRecord {
  return {
    id: row.id,
    username: row.username,
    role: row.role,
    status: row.status,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    lastLoginAt: row.last_login_at === null ? null : new Date(row.last_login_at),
  };
}

/** Whether an error is the unique violation of the username index (another user has the name). */
export function isUsernameTaken(error: unknown): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | undefined;
  return e?.code === "23505";
}

export async function insertUser(
  db: Queryable,
  row: { username: string; passwordHash: string; role: Role; status: UserStatus },
): Promise<UserRecord> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users (username, password_hash, role, status) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [row.username, row.passwordHash, row.role, row.status],
  );
  const inserted = rows[0];
  if (!inserted) throw new Error("INSERT … RETURNING gave no row");
  return toRecord(inserted);
}

export async function selectUserByName(db: Queryable, username: string): Promise<UserRecord | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users WHERE lower(username) = lower($1)`, [
    username,
  ]);
  return rows[0] && toRecord(rows[0]);
}

/** The user and their password hash, for verifying a login. */
export async function findUserCredentials(
  db: Queryable,
  username: string,
): Promise<{ user: UserRecord; passwordHash: string } | undefined> {
  const { rows } = await db.query<UserRow & { password_hash: string }>(
    `SELECT ${COLUMNS}, password_hash FROM users WHERE lower(username) = lower($1)`,
    [username],
  );
  const row = rows[0];
  return row && { user: toRecord(row), passwordHash: row.password_hash };
}

export async function selectUsers(db: Queryable): Promise<UserRecord[]> {
  const { rows } = await db.query<UserRow>(`SELECT ${COLUMNS} FROM users ORDER BY lower(username)`);
  return rows.map(toRecord);
}

/** Counts active admins (the last one may not be removed or demoted). */
export async function countActiveAdmins(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number | string }>(
    "SELECT count(*)::int AS n FROM users WHERE role = 'admin' AND status = 'active'",
  );
  return Number(rows[0]?.n ?? 0);
}

/** Deletes a user (sessions, keys and chats go with it by ON DELETE CASCADE). */
export async function deleteUserRow(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query("DELETE FROM users WHERE id = $1", [id]);
  return rowCount > 0;
}

export async function updateUser(
  db: Queryable,
  id: string,
  change: { role?: Role; status?: UserStatus; passwordHash?: string },
): Promise<UserRecord | undefined> {
  // Fixed statement with COALESCE: no column names are ever built from input.
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET role = COALESCE($2, role), status = COALESCE($3, status),
       password_hash = COALESCE($4, password_hash), updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, change.role ?? null, change.status ?? null, change.passwordHash ?? null],
  );
  return rows[0] && toRecord(rows[0]);
}

/** Records a successful login now; returns the updated user. */
export async function touchLastLogin(db: Queryable, id: string): Promise<UserRecord | undefined> {
  const { rows } = await db.query<UserRow>(
    `UPDATE users SET last_login_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
  return rows[0] && toRecord(rows[0]);
}
