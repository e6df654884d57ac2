/**
 * Chat history: `conversations` and `messages`, one row per message, so appending a turn never
 * rewrites what is stored. Every function takes the owner's `userId` and puts it in the WHERE
 * clause: another user's conversation (or an id that does not exist or is not even a UUID)
 * answers `not_found`, so callers cannot tell the three apart.
 */
import { AppError } from "../errors.js";
import type { Database, Queryable } from "./types.js";

type MessageRole = "system" | "user" | "assistant" | "tool";

const MESSAGE_ROLES: readonly MessageRole[] = ["system", "user", "assistant", "tool"];

export interface Conversation {
  id: string;
  userId: string;
  title: string;
  /** The model the conversation was last used with, when one was recorded. */
  model: string | null;
  createdAt: Date;
  /** Bumped by every appended message: listings show the most recently active first. */
  updatedAt: Date;
}

export interface Message {
  id: string;
  conversationId: string;
  /** 1, 2, 3… in the order messages were appended; never reused within a conversation. */
  seq: number;
  role: MessageRole;
  content: string;
  model: string | null;
  /** Anything JSON the caller attached (timings, tool calls…); null when none. */
  metadata: unknown;
  createdAt: Date;
}

export interface NewMessage {
  role: MessageRole;
  content: string;
  model?: string | null;
  metadata?: unknown;
}

export interface ListConversationsOptions {
  /** Conversations per page. Default 50, at most 200. */
  limit?: number;
  /** Conversations to skip (pages after the first). Default 0. */
  offset?: number;
}

export interface ListMessagesOptions {
  /** Only messages with a larger `seq` (what a client already has). Default 0: from the start. */
  afterSeq?: number;
  /** Messages per page. Default 1000, at most 10000. */
  limit?: number;
}

/** Longest title kept, characters. */
const MAX_TITLE_LENGTH = 512;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const CONVERSATION_COLUMNS = `id, user_id AS "userId", title, model, created_at AS "createdAt", updated_at AS "updatedAt"`;
const MESSAGE_COLUMNS = `id, conversation_id AS "conversationId", seq, role, content, model, metadata, created_at AS "createdAt"`;

/**
 * The activity time of a conversation created or appended to now: `now()`, but always after the
 * user's latest one, so "most recently active first" is exact even when the clock has not moved
 * between two writes (PGlite's clock is coarse; now() is also fixed for a whole transaction).
 * `userParam` is the placeholder holding the user's id (a fixed `$n`, never a value).
 */
function nextActivity(userParam: string): string {
  return `greatest(now(), (SELECT max(updated_at) + interval '1 microsecond' FROM conversations WHERE user_id = ${userParam}))`;
}

function notFound(): AppError {
  return new AppError("not_found", "conversation not found");
}

/** Text PostgreSQL cannot store (NUL) or that is not text at all is the caller's mistake, not a database error. */
function checkText(value: unknown, field: string, maxLength?: number): string {
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

function optionalText(value: string | null | undefined, field: string): string | null {
  return value === undefined || value === null ? null : checkText(value, field);
}

function checkRole(role: unknown): MessageRole {
  if (!MESSAGE_ROLES.includes(role as MessageRole)) {
    throw new AppError("invalid_request", `role must be one of ${MESSAGE_ROLES.join(", ")}`, {
      param: "role",
    });
  }
  return role as MessageRole;
}

/** jsonb text for a parameter: both engines then store exactly what JSON.stringify wrote. */
function metadataParam(metadata: unknown): string | null {
  if (metadata === undefined || metadata === null) return null;
  const json = JSON.stringify(metadata) as string | undefined;
  if (json === undefined)
    throw new AppError("invalid_request", "metadata must be JSON", { param: "metadata" });
  // jsonb cannot hold \u0000 either.
  if (json.includes("\\u0000")) {
    throw new AppError("invalid_request", "metadata must not contain NUL characters", { param: "metadata" });
  }
  return json;
}

function clamp(value: number | undefined, fallback: number, max: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 0) {
    throw new AppError("invalid_request", `${field} must be a non-negative integer`, { param: field });
  }
  return Math.min(value, max);
}

function toConversation(row: Conversation): Conversation {
  return { ...row, createdAt: new Date(row.createdAt), updatedAt: new Date(row.updatedAt) };
}

function toMessage(row: Message): Message {
  return { ...row, seq: Number(row.seq), createdAt: new Date(row.createdAt) };
}

export async function createConversation(
  db: Queryable,
  userId: string,
  fields: { title?: string; model?: string | null } = {},
): Promise<Conversation> {
  const title = checkText(fields.title ?? "", "title", MAX_TITLE_LENGTH);
  const model = optionalText(fields.model, "model");
  if (!UUID.test(userId)) throw new AppError("not_found", "user not found");
  try {
    const { rows } = await db.query<Conversation>(
      `INSERT INTO conversations (user_id, title, model, updated_at)
       VALUES ($1::uuid, $2, $3, ${nextActivity("$1::uuid")}) RETURNING ${CONVERSATION_COLUMNS}`,
      [userId, title, model],
    );
    const row = rows[0];
    if (!row) throw new Error("INSERT … RETURNING gave no row");
    return toConversation(row);
  } catch (error) {
    // foreign_key_violation: the user does not exist (or was deleted meanwhile).
    if ((error as { code?: unknown }).code === "23503") {
      throw new AppError("not_found", "user not found", { cause: error });
    }
    throw error;
  }
}

/** The user's conversations, most recently active first. */
export async function listConversations(
  db: Queryable,
  userId: string,
  options: ListConversationsOptions = {},
): Promise<Conversation[]> {
  const limit = clamp(options.limit, 50, 200, "limit");
  const offset = clamp(options.offset, 0, Number.MAX_SAFE_INTEGER, "offset");
  if (!UUID.test(userId)) return [];
  const { rows } = await db.query<Conversation>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE user_id = $1
     ORDER BY updated_at DESC, id DESC LIMIT $2 OFFSET $3`,
    [userId, limit, offset],
  );
  return rows.map(toConversation);
}

export async function getConversation(db: Queryable, userId: string, id: string): Promise<Conversation> {
  if (!UUID.test(userId) || !UUID.test(id)) throw notFound();
  const { rows } = await db.query<Conversation>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND user_id = $2`,
    [id, userId],
  );
  const row = rows[0];
  if (!row) throw notFound();
  return toConversation(row);
}

export async function renameConversation(
  db: Queryable,
  userId: string,
  id: string,
  title: string,
): Promise<Conversation> {
  checkText(title, "title", MAX_TITLE_LENGTH);
  if (!UUID.test(userId) || !UUID.test(id)) throw notFound();
  const { rows } = await db.query<Conversation>(
    `UPDATE conversations SET title = $3 WHERE id = $1 AND user_id = $2
     RETURNING ${CONVERSATION_COLUMNS}`,
    [id, userId, title],
  );
  const row = rows[0];
  if (!row) throw notFound();
  return toConversation(row);
}

/** Deletes a conversation and its messages (ON DELETE CASCADE). */
export async function deleteConversation(db: Queryable, userId: string, id: string): Promise<void> {
  if (!UUID.test(userId) || !UUID.test(id)) throw notFound();
  const { rowCount } = await db.query("DELETE FROM conversations WHERE id = $1 AND user_id = $2", [
    id,
    userId,
  ]);
  if (rowCount === 0) throw notFound();
}

/**
 * Appends messages in order, in one transaction. The conversation row is locked first (by the
 * UPDATE that also checks the owner and bumps `updated_at`), so a concurrent append waits, and
 * each INSERT is a new statement whose snapshot sees the messages committed before the lock was
 * granted: `max(seq) + 1` cannot collide. (One statement could not do this: under READ
 * COMMITTED its subquery would read the snapshot taken before it waited for the lock.)
 */
export async function appendMessages(
  db: Database,
  userId: string,
  conversationId: string,
  messages: readonly NewMessage[],
): Promise<Message[]> {
  const params = messages.map((message) => [
    checkRole(message.role),
    checkText(message.content, "content"),
    optionalText(message.model, "model"),
    metadataParam(message.metadata),
  ]);
  if (!UUID.test(userId) || !UUID.test(conversationId)) throw notFound();
  return db.transaction(async (tx) => {
    const locked = await tx.query(
      `UPDATE conversations SET updated_at = ${nextActivity("$2")} WHERE id = $1 AND user_id = $2 RETURNING id`,
      [conversationId, userId],
    );
    if (locked.rows.length === 0) throw notFound();
    const appended: Message[] = [];
    for (const [role, content, model, metadata] of params) {
      const { rows } = await tx.query<Message>(
        `INSERT INTO messages (conversation_id, seq, role, content, model, metadata)
         SELECT $1, COALESCE(max(seq), 0) + 1, $2, $3, $4, $5::jsonb FROM messages WHERE conversation_id = $1
         RETURNING ${MESSAGE_COLUMNS}`,
        [conversationId, role, content, model, metadata],
      );
      const row = rows[0];
      if (!row) throw new Error("INSERT … RETURNING gave no row");
      appended.push(toMessage(row));
    }
    return appended;
  });
}

/** Appends one message; see appendMessages. */
export async function appendMessage(
  db: Database,
  userId: string,
  conversationId: string,
  message: NewMessage,
): Promise<Message> {
  const [appended] = await appendMessages(db, userId, conversationId, [message]);
  if (!appended) throw new Error("appendMessages returned nothing");
  return appended;
}

/** The conversation's messages in order (by `seq`). */
export async function listMessages(
  db: Queryable,
  userId: string,
  conversationId: string,
  options: ListMessagesOptions = {},
): Promise<Message[]> {
  const afterSeq = clamp(options.afterSeq, 0, 2 ** 31 - 1, "afterSeq");
  const limit = clamp(options.limit, 1000, 10_000, "limit");
  if (!UUID.test(userId) || !UUID.test(conversationId)) throw notFound();
  // One query answers both "is it yours" and "what is in it": the conversation row always comes
  // back when owned, with NULL message columns when it has no (further) messages.
  const { rows } = await db.query<Message & { owned: boolean }>(
    `SELECT true AS owned, m.id, m.conversation_id AS "conversationId", m.seq, m.role, m.content, m.model,
            m.metadata, m.created_at AS "createdAt"
     FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq > $3
     WHERE c.id = $1 AND c.user_id = $2
     ORDER BY m.seq LIMIT $4`,
    [conversationId, userId, afterSeq, limit],
  );
  if (rows.length === 0) throw notFound();
  return rows.filter((row) => row.id !== null).map(({ owned: _owned, ...row }) => toMessage(row));
}
