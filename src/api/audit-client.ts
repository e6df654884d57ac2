/**
 * The audit log wire (`GET /api/admin/audit`) and the typed client `aixcl audit` uses against a
 * running server with the local admin token. Failures are AppErrors as in src/api/client.ts.
 */
import { z } from "zod";
import { createJsonRequest, type AdminClientOptions } from "./admin-request.js";

/** Entries per page when the request names no `limit`. */
export const DEFAULT_AUDIT_LIMIT = 100;
/** Most entries one page may hold. */
export const MAX_AUDIT_LIMIT = 500;
/** Longest `action` filter accepted (stored actions are short dotted names). */
const MAX_ACTION_FILTER = 200;

const DIGITS = /^[0-9]{1,16}$/;

/**
 * The query of `GET /api/admin/audit`, as strings from the URL. Each bad value is a 400 naming
 * its parameter. An `action` is any text: one that names nothing simply matches nothing.
 */
export const auditQuerySchema = z.object({
  limit: z
    .string()
    .regex(DIGITS, { error: "must be an integer from 1 to 500" })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(1, { error: "must be at least 1" })
        .max(MAX_AUDIT_LIMIT, { error: "must be at most 500" }),
    )
    .optional(),
  before: z
    .string()
    .regex(DIGITS, { error: "must be an entry id (a positive integer)" })
    .transform(Number)
    .pipe(z.number().int().min(1, { error: "must be an entry id (a positive integer)" }))
    .optional(),
  action: z
    .string()
    .min(1, { error: "must not be empty" })
    .max(MAX_ACTION_FILTER, { error: `must be at most ${MAX_ACTION_FILTER} characters` })
    .refine((value) => !value.includes("\0"), { error: "must not contain NUL characters" })
    .optional(),
});

/** What the client asks for (numbers already parsed). */
export interface AuditQuery {
  /** 1–500, default 100. */
  limit?: number;
  /** Only entries with a smaller id: the `next_before` of the previous page. */
  before?: number;
  /** An exact action (`login.failure`), or a prefix ending in `.` (`login.`) or `*` (`key*`). */
  action?: string;
}

/**
 * How an `action` filter reads: a trailing `*` or `.` makes it a prefix (the `*` dropped, the
 * `.` kept), anything else is an exact action.
 */
export function actionFilter(action: string | undefined): { action?: string; actionPrefix?: string } {
  if (action === undefined) return {};
  if (action.endsWith("*")) return { actionPrefix: action.slice(0, -1) };
  if (action.endsWith(".")) return { actionPrefix: action };
  return { action };
}

export interface AuditEntryWire {
  id: number;
  /** RFC 3339, UTC. */
  at: string;
  /** As the actor was named then: a username, `local`, `api_key`, `anonymous`, `system`… */
  actor: string;
  actor_id: string | null;
  action: string;
  target: string | null;
  address: string | null;
  details: unknown;
}

export interface AuditPageWire {
  entries: AuditEntryWire[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  next_before: number | null;
}

/**
 * The fields of a stored entry the wire shows (structurally src/store/audit.ts AuditEntry: api/
 * names no store type, and the server and the CLI's offline path both pass store entries).
 */
export interface AuditRecordLike {
  id: number;
  at: Date;
  actorId: string | null;
  actor: string;
  action: string;
  target: string | null;
  address: string | null;
  details: unknown;
}

function toAuditWire(entry: AuditRecordLike): AuditEntryWire {
  return {
    id: entry.id,
    at: entry.at.toISOString(),
    actor: entry.actor,
    actor_id: entry.actorId,
    action: entry.action,
    target: entry.target,
    address: entry.address,
    details: entry.details,
  };
}

export function toAuditPageWire(page: {
  entries: readonly AuditRecordLike[];
  nextBefore: number | null;
}): AuditPageWire {
  return { entries: page.entries.map(toAuditWire), next_before: page.nextBefore };
}

/** `?limit=&before=&action=` for a query (absent fields left out). */
function auditSearch(query: AuditQuery): string {
  const params = new URLSearchParams();
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  if (query.before !== undefined) params.set("before", String(query.before));
  if (query.action !== undefined) params.set("action", query.action);
  const search = params.toString();
  return search === "" ? "" : `?${search}`;
}

export type AuditClientOptions = AdminClientOptions;

export interface AuditClient {
  /** One page of the log, newest first. */
  list(query: AuditQuery): Promise<AuditPageWire>;
}

export function createAuditClient(options: AuditClientOptions): AuditClient {
  const request = createJsonRequest({
    baseUrl: options.baseUrl,
    prefix: "/api/admin/audit",
    token: options.token,
  });
  return { list: (query) => request.json<AuditPageWire>("GET", auditSearch(query)) };
}
