/**
 * Chat messages: one row each, forming a tree per conversation (`parent_id`; the versions of an
 * answer or of an edited question are siblings). `seq` orders a conversation's messages by
 * creation and is never reused. Every function takes the owner's `userId` and joins or filters on
 * it: another user's message or conversation answers `not_found`, like a missing one.
 */
import {
  checkRole,
  checkText,
  clamp,
  CONVERSATION_COLUMNS,
  conversationNotFound,
  isUuid,
  jsonParam,
  messageNotFound,
  nextActivity,
  optionalText,
  toConversation,
  type Conversation,
  type MessageRole,
} from "./chat-fields.js";
import { addTermsSql } from "./conversation-terms.js";
import { getConversation } from "./conversations.js";
import type { Database, Queryable } from "./types.js";

export type MessageStatus = "done" | "streaming" | "stopped" | "error";

export interface MessageError {
  code: string;
  message: string;
}

export interface MessageToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** What one answer cost, from the inference's final statistics. */
export interface MessageStats {
  promptTokens: number;
  completionTokens: number;
  /** Time to first token, ms. */
  ttftMs: number;
  tokensPerSecond: number;
  totalMs: number;
}

export interface Message {
  id: string;
  conversationId: string;
  /** The message this one answers or follows; null for a root. */
  parentId: string | null;
  /** 1, 2, 3… in the order messages were created; never reused within a conversation. */
  seq: number;
  role: MessageRole;
  content: string;
  /** A thinking model's reasoning, apart from `content`; null when there is none. */
  thinking: string | null;
  model: string | null;
  status: MessageStatus;
  /** Why the answer failed, when `status` is "error". */
  error: MessageError | null;
  toolCalls: MessageToolCall[] | null;
  stats: MessageStats | null;
  /** Anything JSON the caller attached; null when none. */
  metadata: unknown;
  createdAt: Date;
}

export interface NewMessage {
  role: MessageRole;
  content: string;
  model?: string | null;
  metadata?: unknown;
}

export interface ListMessagesOptions {
  /** Only messages with a larger `seq` (what a client already has). Default 0: from the start. */
  afterSeq?: number;
  /** Messages per page. Default 1000, at most 10000. */
  limit?: number;
}

const COLUMNS = [
  ["id", "id"],
  ["conversation_id", "conversationId"],
  ["parent_id", "parentId"],
  ["seq", "seq"],
  ["role", "role"],
  ["content", "content"],
  ["thinking", "thinking"],
  ["model", "model"],
  ["status", "status"],
  ["error", "error"],
  ["tool_calls", "toolCalls"],
  ["stats", "stats"],
  ["metadata", "metadata"],
  ["created_at", "createdAt"],
] as const;

/** The message columns as record fields, optionally qualified by a table alias. */
export function messageColumns(alias?: string): string {
  const prefix = alias === undefined ? "" : `${alias}.`;
  return COLUMNS.map(([column, field]) => `${prefix}${column} AS "${field}"`).join(", ");
}

const MESSAGE_COLUMNS = messageColumns();

export function toMessage(row: Message): Message {
  return { ...row, seq: Number(row.seq), createdAt: new Date(row.createdAt) };
}

function onlyRow<T>(rows: T[]): T {
  const row = rows[0];
  if (!row) throw new Error("INSERT … RETURNING gave no row");
  return row;
}

/** Locks the conversation row (so concurrent inserts take `max(seq) + 1` in turn) and bumps its activity. */
export async function lockConversation(
  tx: Queryable,
  userId: string,
  conversationId: string,
  model?: string | null,
): Promise<Conversation> {
  const { rows } = await tx.query<Conversation>(
    `UPDATE conversations SET updated_at = ${nextActivity("$2")}, model = COALESCE($3, model)
      WHERE id = $1 AND user_id = $2 RETURNING ${CONVERSATION_COLUMNS}`,
    [conversationId, userId, model ?? null],
  );
  const row = rows[0];
  if (!row) throw conversationNotFound();
  return toConversation(row);
}

/** Inserts one message at the next `seq` (the caller holds the conversation's lock). */
export async function insertMessage(
  tx: Queryable,
  conversationId: string,
  fields: {
    /** The parent's id; `{ last: true }`: the latest message (a linear append). */
    parentId: string | null | { last: true };
    role: MessageRole;
    content: string;
    model: string | null;
    status?: MessageStatus;
    metadata?: string | null;
  },
): Promise<Message> {
  const parent =
    typeof fields.parentId === "object" && fields.parentId !== null
      ? "COALESCE($2::uuid, (SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq DESC LIMIT 1))"
      : "$2::uuid";
  const { rows } = await tx.query<Message>(
    `WITH inserted AS (
       INSERT INTO messages (conversation_id, user_id, seq, parent_id, role, content, model, status, metadata)
       SELECT $1, (SELECT user_id FROM conversations WHERE id = $1), COALESCE(max(seq), 0) + 1, ${parent}, $3, $4, $5, $6, $7::jsonb
         FROM messages WHERE conversation_id = $1
       RETURNING *
     ), terms AS (${addTermsSql("inserted", { conversation: "inserted.conversation_id", user: "inserted.user_id", text: "CASE WHEN inserted.status = 'streaming' THEN '' ELSE inserted.content END" })})
     SELECT ${MESSAGE_COLUMNS} FROM inserted`,
    [
      conversationId,
      typeof fields.parentId === "object" && fields.parentId !== null ? null : fields.parentId,
      fields.role,
      fields.content,
      fields.model,
      fields.status ?? "done",
      fields.metadata ?? null,
    ],
  );
  return toMessage(onlyRow(rows));
}

/**
 * Appends messages in order, each the child of the one before (a linear history), in one
 * transaction. The conversation row is locked first (by the UPDATE that also checks the owner
 * and bumps `updated_at`), so a concurrent append waits, and each INSERT is a new statement whose
 * snapshot sees the messages committed before the lock was granted: `max(seq) + 1` cannot
 * collide. (One statement could not do this: under READ COMMITTED its subquery would read the
 * snapshot taken before it waited for the lock.)
 */
export async function appendMessages(
  db: Database,
  userId: string,
  conversationId: string,
  messages: readonly NewMessage[],
): Promise<Message[]> {
  const params = messages.map((message) => ({
    role: checkRole(message.role),
    content: checkText(message.content, "content"),
    model: optionalText(message.model, "model"),
    metadata: jsonParam(message.metadata, "metadata"),
  }));
  if (!isUuid(userId) || !isUuid(conversationId)) throw conversationNotFound();
  return db.transaction(async (tx) => {
    await lockConversation(tx, userId, conversationId);
    const appended: Message[] = [];
    for (const fields of params) {
      appended.push(await insertMessage(tx, conversationId, { ...fields, parentId: { last: true } }));
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

/** The conversation's messages in order (by `seq`), in pages. */
export async function listMessages(
  db: Queryable,
  userId: string,
  conversationId: string,
  options: ListMessagesOptions = {},
): Promise<Message[]> {
  const afterSeq = clamp(options.afterSeq, 0, 2 ** 31 - 1, "afterSeq");
  const limit = clamp(options.limit, 1000, 10_000, "limit");
  if (!isUuid(userId) || !isUuid(conversationId)) throw conversationNotFound();
  // One query answers both "is it yours" and "what is in it": the conversation row always comes
  // back when owned, with NULL message columns when it has no (further) messages.
  const { rows } = await db.query<Message & { owned: boolean }>(
    `SELECT true AS owned, ${messageColumns("m")}
     FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq > $3
     WHERE c.id = $1 AND c.user_id = $2
     ORDER BY m.seq LIMIT $4`,
    [conversationId, userId, afterSeq, limit],
  );
  if (rows.length === 0) throw conversationNotFound();
  return rows.filter((row) => row.id !== null).map(({ owned: _owned, ...row }) => toMessage(row));
}

/** A conversation and every message of its tree, in creation order: two statements. */
export async function openConversation(
  db: Queryable,
  userId: string,
  id: string,
): Promise<{ conversation: Conversation; messages: Message[] }> {
  const conversation = await getConversation(db, userId, id);
  const { rows } = await db.query<Message>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE conversation_id = $1 ORDER BY seq`,
    [id],
  );
  return { conversation, messages: rows.map(toMessage) };
}

export async function getMessage(db: Queryable, userId: string, id: string): Promise<Message> {
  if (!isUuid(userId) || !isUuid(id)) throw messageNotFound();
  const { rows } = await db.query<Message>(
    `SELECT ${messageColumns("m")} FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.id = $1 AND c.user_id = $2`,
    [id, userId],
  );
  const row = rows[0];
  if (!row) throw messageNotFound();
  return toMessage(row);
}

/** What an answer's history needs of a message (see branchPath). */
export type BranchMessage = Pick<
  Message,
  "id" | "parentId" | "role" | "content" | "thinking" | "toolCalls" | "status"
>;

/**
 * The path from the root of the tree down to `leafId`, inclusive (the history an answer continues).
 * The conversation's messages are read in one index scan and the parent links walked here: a
 * recursive CTE costs a join per level, and on the small tables of a fresh home (never analyzed
 * in PGlite) the planner makes each a scan of the table — ~5 ms for an 80-message chat, on the
 * path of every answer's first token, against ~1 ms. Only the columns a prompt is built from are
 * read: the others (stats, error, metadata as JSON, dates) took a third of the time to decode.
 */
export async function branchPath(
  db: Queryable,
  userId: string,
  conversationId: string,
  leafId: string,
): Promise<BranchMessage[]> {
  if (!isUuid(userId) || !isUuid(conversationId) || !isUuid(leafId)) throw messageNotFound();
  const { rows } = await db.query<BranchMessage>(
    `SELECT m.id, m.parent_id AS "parentId", m.role, m.content, m.thinking, m.tool_calls AS "toolCalls", m.status
       FROM messages m JOIN conversations c ON c.id = m.conversation_id
      WHERE m.conversation_id = $1 AND c.user_id = $2`,
    [conversationId, userId],
  );
  const byId = new Map(rows.map((row) => [row.id, row]));
  const path: BranchMessage[] = [];
  // A parent link leads up to the root; the bound guards a cycle a hand-edited database could hold.
  for (let row = byId.get(leafId); row && path.length <= rows.length; row = byId.get(row.parentId ?? "")) {
    path.push(row);
  }
  if (path.length === 0) throw messageNotFound();
  return path.reverse();
}
