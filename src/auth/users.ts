/**
 * User accounts: the service the admin API, the CLI (directly on the database when no server
 * runs) and the platform secrets (src/platform/) share. Changes that reduce what an account may
 * do (deletion, role change, new password) end its sessions and cut its open requests at once,
 * and every change is audited.
 */
import { z } from "zod";
import { AppError } from "../errors.js";
import { hashPassword } from "./passwords.js";
import { endUserSessions } from "./sessions.js";
import { revokeOpenRequests } from "./revocation.js";
import type { Role } from "../store/roles.js";
import {
  countActiveAdmins,
  deleteUserRow,
  insertUser,
  isUsernameTaken,
  selectUserByName,
  selectUsers,
  updateUser,
  type UserRecord,
  type UserStatus,
} from "../store/users.js";
import { recordAudit as appendAudit } from "../store/audit.js";
import { getSetting, setSetting } from "../store/settings.js";
import type { Database, Queryable } from "../store/types.js";

export type { UserRecord, UserStatus } from "../store/users.js";
export { revokeAllSessions } from "./sessions.js";

/** Who made a change, for the audit log. Default: `system`. */
export interface Actor {
  id?: string;
  name: string;
  address?: string;
}

const SYSTEM: Actor = { name: "system" };

/** Longest client-supplied text kept in an audit field. */
const MAX_AUDIT_TEXT = 256;

/**
 * Client-supplied text as the audit log can hold it: PostgreSQL text cannot contain NUL, and a
 * login attempt may carry anything, so NULs become U+FFFD and length is bounded.
 */
export function auditText(value: string): string {
  return value.replaceAll("\0", "\uFFFD").slice(0, MAX_AUDIT_TEXT);
}

/** Appends an audit_log row for an account event (login, logout, user changes). */
export async function recordAudit(
  db: Queryable,
  actor: Actor,
  action: string,
  target?: string,
  details?: Record<string, unknown>,
): Promise<void> {
  await appendAudit(db, {
    actorId: actor.id ?? null,
    actor: auditText(actor.name) || "anonymous",
    action,
    target: target === undefined ? null : auditText(target) || null,
    address: actor.address ?? null,
    details: details ?? null,
  });
}

/**
 * 1–64 of [A-Za-z0-9._@-], starting with a letter or digit: a name such as `--insecure` would
 * read as an option wherever it is passed to a command, and `.`/`..` as paths.
 */
const USERNAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** Throws `invalid_request` (param `username`) unless the name follows USERNAME_PATTERN. */
export function checkUsername(username: string): void {
  if (!USERNAME_PATTERN.test(username)) {
    throw new AppError(
      "invalid_request",
      "username must be 1-64 characters of A-Z a-z 0-9 . _ @ -, starting with a letter or digit",
      { param: "username" },
    );
  }
}

export function isRole(value: unknown): value is Role {
  return value === "admin" || value === "user";
}

export interface CreateUserInput {
  username: string;
  password: string;
  role: Role;
  /** `pending` accounts (self sign-up) cannot log in until an admin activates them. Default active. */
  status?: "active" | "pending";
}

/** Creates a user; `conflict` when the name is taken (case-insensitively). */
export async function createUser(
  db: Queryable,
  input: CreateUserInput,
  actor: Actor = SYSTEM,
): Promise<UserRecord> {
  checkUsername(input.username);
  if (!isRole(input.role))
    throw new AppError("invalid_request", "role must be admin or user", { param: "role" });
  const passwordHash = await hashPassword(input.password);
  let user: UserRecord;
  try {
    user = await insertUser(db, {
      username: input.username,
      passwordHash,
      role: input.role,
      status: input.status ?? "active",
    });
  } catch (error) {
    if (isUsernameTaken(error)) throw new AppError("conflict", `user ${input.username} already exists`);
    throw error;
  }
  await recordAudit(db, actor, "user.add", user.username, { role: user.role, status: user.status });
  return user;
}

/** The user named `username` (any case), or undefined. */
export function findUser(db: Queryable, username: string): Promise<UserRecord | undefined> {
  return selectUserByName(db, username);
}

/** Every user, by name. */
export function listUsers(db: Queryable): Promise<UserRecord[]> {
  return selectUsers(db);
}

async function requireUser(db: Queryable, username: string): Promise<UserRecord> {
  const user = await selectUserByName(db, username);
  if (!user) throw new AppError("not_found", `user ${username} not found`);
  return user;
}

/** Refuses to leave the platform without an active admin (nobody could manage it any more). */
async function keepAnAdmin(db: Queryable, user: UserRecord, action: string): Promise<void> {
  if (user.role === "admin" && user.status === "active" && (await countActiveAdmins(db)) <= 1) {
    throw new AppError("conflict", `cannot ${action} ${user.username}: it is the last active admin`);
  }
}

/** Deletes a user with their sessions, keys and chats; cuts all their open requests. */
export async function removeUser(db: Database, username: string, actor: Actor = SYSTEM): Promise<void> {
  const user = await requireUser(db, username);
  await keepAnAdmin(db, user, "remove");
  await deleteUserRow(db, user.id);
  revokeOpenRequests(db, { userId: user.id });
  await recordAudit(db, actor, "user.remove", user.username);
}

/** Changes a user's role; ends their sessions and cuts their open requests (keys included). */
export async function setRole(
  db: Database,
  username: string,
  role: Role,
  actor: Actor = SYSTEM,
): Promise<UserRecord> {
  if (!isRole(role)) throw new AppError("invalid_request", "role must be admin or user", { param: "role" });
  const user = await requireUser(db, username);
  if (user.role === role) return user;
  if (role !== "admin") await keepAnAdmin(db, user, "demote");
  const updated = await updateUser(db, user.id, { role });
  if (!updated) throw new AppError("not_found", `user ${username} not found`);
  await endUserSessions(db, user.id);
  revokeOpenRequests(db, { userId: user.id });
  await recordAudit(db, actor, "user.role", user.username, { from: user.role, to: role });
  return updated;
}

/** Replaces a user's password; ends their sessions and cuts those sessions' open requests. */
export async function setPassword(
  db: Database,
  username: string,
  password: string,
  actor: Actor = SYSTEM,
): Promise<void> {
  const passwordHash = await hashPassword(password);
  const user = await requireUser(db, username);
  await updateUser(db, user.id, { passwordHash });
  await endUserSessions(db, user.id);
  await recordAudit(db, actor, "user.passwd", user.username);
}

/** Sets a user's status (`active` lets a pending sign-up log in); leaving active ends their sessions. */
export async function setStatus(
  db: Database,
  username: string,
  status: UserStatus,
  actor: Actor = SYSTEM,
): Promise<UserRecord> {
  const user = await requireUser(db, username);
  if (user.status === status) return user;
  if (status !== "active") await keepAnAdmin(db, user, "deactivate");
  const updated = await updateUser(db, user.id, { status });
  if (!updated) throw new AppError("not_found", `user ${username} not found`);
  if (status !== "active") {
    await endUserSessions(db, user.id);
    revokeOpenRequests(db, { userId: user.id });
  }
  await recordAudit(db, actor, "user.status", user.username, { from: user.status, to: status });
  return updated;
}

/** Settings key of the self sign-up switch (off unless an admin turns it on). */
const SIGNUP_SETTING = "signup";

/** Whether self sign-up is open. Default false: no open sign-up until an admin enables it. */
export function isSignupEnabled(db: Queryable): Promise<boolean> {
  return getSetting(db, SIGNUP_SETTING, false, z.boolean());
}

/** Opens or closes self sign-up (new accounts then start `pending`). */
export async function setSignupEnabled(
  db: Queryable,
  enabled: boolean,
  actor: Actor = SYSTEM,
): Promise<void> {
  await setSetting(db, SIGNUP_SETTING, enabled);
  await recordAudit(db, actor, "settings.signup", SIGNUP_SETTING, { enabled });
}
