/**
 * The checks and row mappings the chat tables share (conversations.ts, messages.ts,
 * conversation-search.ts): what a caller may store, and how a row becomes a record. Ownership is
 * always part of each statement's WHERE clause; these helpers only make a bad id or text fail as
 * the caller's mistake (`not_found`, `invalid_request`) instead of a database error.
 */
import { AppError } from "../errors.js";

export type MessageRole = "system" | "user" | "assistant" | "tool";

const MESSAGE_ROLES: readonly MessageRole[] = ["system", "user", "assistant", "tool"];

/** Per-chat generation settings (the subset of Ollama options a chat keeps). */
export interface ConversationOptions {
  temperature?: number;
  num_ctx?: number;
  num_predict?: number;
}

export interface Conversation {
  id: string;
  userId: string;
  title: string;
  /** The model the conversation was last used with, when one was recorded. */
  model: string | null;
  /** Pinned conversations list first. */
  pinned: boolean;
  /** The per-chat system prompt; null when none. */
  system: string | null;
  options: ConversationOptions;
  createdAt: Date;
  /** Bumped by every appended message: listings show the most recently active first. */
  updatedAt: Date;
}

/** Longest title kept, characters. */
export const MAX_TITLE_LENGTH = 512;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export const CONVERSATION_COLUMNS = `id, user_id AS "userId", title, model, pinned, system, options, created_at AS "createdAt", updated_at AS "updatedAt"`;

/** CONVERSATION_COLUMNS qualified by a table alias (for joins). */
export function conversationColumns(alias: string): string {
  return CONVERSATION_COLUMNS.replace(/(^|, )(\w+)/g, `$1${alias}.$2`);
}

/**
 * The activity time of a conversation created or appended to now: `now()`, but always after the
 * user's latest one, so "most recently active first" is exact even when the clock has not moved
 * between two writes (PGlite's clock is coarse; now() is also fixed for a whole transaction).
 * `userParam` is the placeholder holding the user's id (a fixed `$n`, never a value).
 */
export function nextActivity(userParam: string): string {
  return `greatest(now(), (SELECT max(updated_at) + interval '1 microsecond' FROM conversations WHERE user_id = ${userParam}))`;
}

export function conversationNotFound(): AppError {
  return new AppError("not_found", "conversation not found");
}

export function messageNotFound(): AppError {
  return new AppError("not_found", "message not found");
}

/** Text PostgreSQL cannot store (NUL) or that is not text at all is the caller's mistake, not a database error. */
export function checkText(value: unknown, field: string, maxLength?: number): string {
  if (typeof value !== "string")
    throw new AppError("invalid_request", `${field} must be a string`, { param: field });
  if (value.includes("\0")) {
    throw new AppError("invalid_request", `${field} must not contain NUL characters`, { param: field });
  }
  if (maxLength !== undefined && value.length > maxLength) {
    throw new AppError("invalid_request", `${field} is longer than ${maxLength} characters`, {
      param: field,
    });
  }
  return value;
}

export function optionalText(value: string | null | undefined, field: string): string | null {
  return value === undefined || value === null ? null : checkText(value, field);
}

export function checkRole(role: unknown): MessageRole {
  if (!MESSAGE_ROLES.includes(role as MessageRole)) {
    throw new AppError("invalid_request", `role must be one of ${MESSAGE_ROLES.join(", ")}`, {
      param: "role",
    });
  }
  return role as MessageRole;
}

/** jsonb text for a parameter: both engines then store exactly what JSON.stringify wrote. */
export function jsonParam(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new AppError("invalid_request", `${field} must be JSON`, { param: field });
  // jsonb cannot hold \u0000 either.
  if (json.includes("\\u0000")) {
    throw new AppError("invalid_request", `${field} must not contain NUL characters`, { param: field });
  }
  return json;
}

export function clamp(value: number | undefined, fallback: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new AppError("invalid_request", `${field} must be a non-negative integer`, { param: field });
  }
  return Math.min(value, max);
}

export function toConversation(row: Conversation): Conversation {
  return {
    ...row,
    options: row.options ?? {},
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  };
}
