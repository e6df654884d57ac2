/**
 * The audit log: who did what to what, from where. Rows are only ever inserted; `actor` keeps
 * the name as it was, so the record stays readable after the user is renamed or deleted.
 */
import { AppError } from "../errors.js";
import type { Queryable } from "./types.js";

export interface AuditInput {
  /** The acting user's id, when a user acted (not the static key or the local CLI). */
  actorId?: string | null;
  /** Who acted, as shown to an admin: a username, `cli`, `api-key:<prefix>`… */
  actor: string;
  /** What happened, dotted lower-case (`user.create`, `login.failed`, `key.revoke`). */
  action: string;
  /** What it was done to (a username, a key prefix, a setting). */
  target?: string | null;
  /** The client address. */
  address?: string | null;
  /** Anything else worth keeping, as JSON. Never a secret. */
  details?: unknown;
}

export interface AuditEntry {
  id: number;
  at: Date;
  actorId: string | null;
  actor: string;
  action: string;
  target: string | null;
  address: string | null;
  details: unknown;
}

export interface ListAuditOptions {
  /** Entries per page, newest first. Default 100, at most 1000. */
  limit?: number;
  /** Only entries older than this id (the last id of the previous page). */
  before?: number;
  /** Only this action. */
  action?: string;
  /** Only actions that start with this text (`login.` for every login event); compared as text, no wildcards. */
  actionPrefix?: string;
}

/** One page of the log and where the next one starts. */
export interface AuditPage {
  entries: AuditEntry[];
  /** The `before` of the next page, or null when this page holds the oldest entry. */
  nextBefore: number | null;
}

const COLUMNS = `id, at, actor_id AS "actorId", actor, action, target, address, details`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function text(value: unknown, field: string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new AppError("invalid_request", `audit ${field} must be a non-empty string`, { param: field });
  }
  if (value.includes("\0")) {
    throw new AppError("invalid_request", `audit ${field} must not contain NUL characters`, { param: field });
  }
  return value;
}

function optional(value: string | null | undefined, field: string): string | null {
  return value === undefined || value === null ? null : text(value, field);
}

function toEntry(row: AuditEntry): AuditEntry {
  return { ...row, id: Number(row.id), at: new Date(row.at) };
}

export async function recordAudit(db: Queryable, input: AuditInput): Promise<AuditEntry> {
  const actorId = input.actorId ?? null;
  if (actorId !== null && !UUID.test(actorId)) {
    throw new AppError("invalid_request", "audit actorId must be a UUID", { param: "actorId" });
  }
  let details: string | null = null;
  if (input.details !== undefined && input.details !== null) {
    // JSON.stringify gives undefined for a function or symbol: nothing worth recording.
    const json: string | undefined = JSON.stringify(input.details);
    details = json ?? null;
    if (details?.includes("\\u0000")) {
      throw new AppError("invalid_request", "audit details must not contain NUL characters", {
        param: "details",
      });
    }
  }
  const { rows } = await db.query<AuditEntry>(
    `INSERT INTO audit_log (actor_id, actor, action, target, address, details)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb) RETURNING ${COLUMNS}`,
    [
      actorId,
      text(input.actor, "actor"),
      text(input.action, "action"),
      optional(input.target, "target"),
      optional(input.address, "address"),
      details,
    ],
  );
  const row = rows[0];
  if (!row) throw new Error("INSERT … RETURNING gave no row");
  return toEntry(row);
}

function filterText(value: string | undefined, field: string): string | null {
  if (value === undefined) return null;
  if (value.includes("\0")) {
    throw new AppError("invalid_request", `${field} must not contain NUL characters`, { param: field });
  }
  return value;
}

/** Audit entries, newest first; page with `before` = the last id seen. */
export async function listAudit(db: Queryable, options: ListAuditOptions = {}): Promise<AuditEntry[]> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new AppError("invalid_request", "limit must be a positive integer", { param: "limit" });
  }
  if (options.before !== undefined && !Number.isSafeInteger(options.before)) {
    throw new AppError("invalid_request", "before must be an integer", { param: "before" });
  }
  // Fixed statement: absent filters are NULL parameters, never SQL built from input. The prefix
  // goes through starts_with, not LIKE, so `%` and `_` in it are plain characters.
  const { rows } = await db.query<AuditEntry>(
    `SELECT ${COLUMNS} FROM audit_log
     WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR action = $2)
       AND ($3::text IS NULL OR starts_with(action, $3))
     ORDER BY id DESC LIMIT $4`,
    [
      options.before ?? null,
      filterText(options.action, "action"),
      filterText(options.actionPrefix, "action"),
      Math.min(limit, 1000),
    ],
  );
  return rows.map(toEntry);
}

/**
 * One page of listAudit (limit at most 999) and the `before` of the next: one row more than the
 * page is read, so `nextBefore` is null exactly when nothing older matches.
 */
export async function listAuditPage(db: Queryable, options: ListAuditOptions = {}): Promise<AuditPage> {
  const limit = options.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 999) {
    throw new AppError("invalid_request", "limit must be an integer from 1 to 999", { param: "limit" });
  }
  const rows = await listAudit(db, { ...options, limit: limit + 1 });
  const entries = rows.slice(0, limit);
  return { entries, nextBefore: rows.length > limit ? (entries.at(-1)?.id ?? null) : null };
}
