/**
 * A web chat's answers in the store: a user message and its empty `streaming` answer, another
 * version of an answer, saving an answer's text and final state as it is generated
 * (src/chat/generation.ts). Scoped by owner like everything in messages.ts.
 */
import { AppError } from "../errors.js";
import {
  checkText,
  conversationColumns,
  conversationNotFound,
  isUuid,
  jsonParam,
  messageNotFound,
  toConversation,
  type Conversation,
  type MessageRole,
} from "./chat-fields.js";
import { addTermsSql } from "./conversation-terms.js";
import {
  getMessage,
  insertMessage,
  lockConversation,
  messageColumns,
  toMessage,
  type Message,
  type MessageError,
  type MessageStats,
  type MessageStatus,
  type MessageToolCall,
} from "./messages.js";
import type { Database, Queryable } from "./types.js";

export interface Turn {
  conversation: Conversation;
  /** The new user message (absent for a regenerated answer). */
  userMessage?: Message;
  /** The assistant's answer, empty and `streaming`. */
  answer: Message;
}

/** A WITH clause adding the words of the ended answers in clause `ended` (see conversation-terms.ts). */
const endedTerms = (ended: string) =>
  addTermsSql(ended, {
    conversation: `${ended}.conversation_id`,
    user: `${ended}.user_id`,
    text: `${ended}.content`,
  });

/**
 * Gives a conversation without a title the first user message's text (whitespace folded, at most
 * 60 characters). Returns the conversation as it is now.
 */
async function titleFromFirstMessage(tx: Queryable, conversation: Conversation): Promise<Conversation> {
  if (conversation.title !== "") return conversation;
  const { rows } = await tx.query<Conversation>(
    `UPDATE conversations c SET title = left(btrim(regexp_replace(f.content, '\\s+', ' ', 'g')), 60)
       FROM (SELECT content FROM messages WHERE conversation_id = $1 AND role = 'user' ORDER BY seq LIMIT 1) f
      WHERE c.id = $1 AND c.title = '' RETURNING ${conversationColumns("c")}`,
    [conversation.id],
  );
  const row = rows[0];
  return row ? toConversation(row) : conversation;
}

/**
 * A new user message under `parentId` (null: a new root) and an empty `streaming` answer to it,
 * in one transaction; records `model` as the conversation's model and titles an untitled chat.
 * A parent still being generated is a `conflict`: its text is not final yet.
 */
export async function insertTurn(
  db: Database,
  userId: string,
  conversationId: string,
  fields: { content: string; parentId: string | null; model: string },
): Promise<Turn & { userMessage: Message }> {
  const content = checkText(fields.content, "content");
  const model = checkText(fields.model, "model");
  if (!isUuid(userId) || !isUuid(conversationId)) throw conversationNotFound();
  if (fields.parentId !== null && !isUuid(fields.parentId)) throw messageNotFound();
  return db.transaction(async (tx) => {
    const locked = await lockConversation(tx, userId, conversationId, model);
    // Both rows in one statement (this runs before every answer's first token). It is a statement
    // after the lock's, so its snapshot sees every message committed before the lock was granted:
    // `max(seq)` cannot collide (see appendMessages).
    const { rows } = await tx.query<Message & { kind: "user" | "answer" }>(
      `WITH parent AS (
         SELECT status FROM messages WHERE id = $2 AND conversation_id = $1
       ), base AS (
         SELECT COALESCE(max(seq), 0) AS seq FROM messages WHERE conversation_id = $1
       ), asked AS (
         INSERT INTO messages (conversation_id, user_id, seq, parent_id, role, content, model, status)
         SELECT $1, $5, base.seq + 1, $2, 'user', $3, NULL, 'done' FROM base
          WHERE $2::uuid IS NULL OR EXISTS (SELECT 1 FROM parent WHERE status <> 'streaming')
         RETURNING *
       ), answer AS (
         INSERT INTO messages (conversation_id, user_id, seq, parent_id, role, content, model, status)
         SELECT $1, $5, asked.seq + 1, asked.id, 'assistant', '', $4, 'streaming' FROM asked
         RETURNING *
       ), terms AS (${addTermsSql("asked", { conversation: "asked.conversation_id", user: "asked.user_id", text: "asked.content" })})
       SELECT 'user' AS kind, ${messageColumns("asked")} FROM asked
       UNION ALL
       SELECT 'answer' AS kind, ${messageColumns("answer")} FROM answer`,
      // The lock above found the conversation under this user: the rows are theirs.
      [conversationId, fields.parentId, content, model, userId],
    );
    const userRow = rows.find((row) => row.kind === "user");
    const answerRow = rows.find((row) => row.kind === "answer");
    if (!userRow || !answerRow) throw await parentProblem(tx, conversationId, fields.parentId);
    const { kind: _user, ...userMessage } = userRow;
    const { kind: _answer, ...answer } = answerRow;
    const conversation = await titleFromFirstMessage(tx, locked);
    return { conversation, userMessage: toMessage(userMessage), answer: toMessage(answer) };
  });
}

/** Why no turn was inserted under `parentId`: it is not in the conversation, or still streaming. */
async function parentProblem(
  tx: Queryable,
  conversationId: string,
  parentId: string | null,
): Promise<AppError> {
  const { rows } = await tx.query<{ status: MessageStatus }>(
    "SELECT status FROM messages WHERE id = $1 AND conversation_id = $2",
    [parentId, conversationId],
  );
  if (rows[0]?.status === "streaming") {
    return new AppError("conflict", "the parent message is still being generated", { param: "parent_id" });
  }
  return messageNotFound();
}

/**
 * A new empty `streaming` answer beside assistant message `siblingId` (same parent): another
 * version of that answer. Returns it with the conversation.
 */
export async function insertSiblingAnswer(
  db: Database,
  userId: string,
  siblingId: string,
  model: string | null,
): Promise<Turn> {
  if (!isUuid(userId) || !isUuid(siblingId)) throw messageNotFound();
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{
      conversationId: string;
      parentId: string | null;
      role: MessageRole;
      model: string | null;
    }>(
      `SELECT m.conversation_id AS "conversationId", m.parent_id AS "parentId", m.role, m.model
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
        WHERE m.id = $1 AND c.user_id = $2`,
      [siblingId, userId],
    );
    const sibling = rows[0];
    if (!sibling) throw messageNotFound();
    if (sibling.role !== "assistant" || sibling.parentId === null) {
      throw new AppError("invalid_request", "only an answer can be regenerated");
    }
    const locked = await lockConversation(tx, userId, sibling.conversationId, model);
    const answerModel = model ?? locked.model ?? sibling.model;
    if (answerModel === null) throw new AppError("invalid_request", "model is required", { param: "model" });
    const answer = await insertMessage(tx, sibling.conversationId, {
      parentId: sibling.parentId,
      role: "assistant",
      content: "",
      model: answerModel,
      status: "streaming",
    });
    return { conversation: locked, answer };
  });
}

export interface AnswerUpdate {
  content: string;
  /** The reasoning so far; empty or absent saves null (a model that does not think). */
  thinking?: string;
  status: MessageStatus;
  error?: MessageError | null;
  toolCalls?: MessageToolCall[] | null;
  stats?: MessageStats | null;
}

/**
 * Saves an answer's text and state. Undefined when the row is gone (its conversation was
 * deleted, or its user): the generation behind it has no one left to answer.
 */
export async function saveAnswer(
  db: Queryable,
  userId: string,
  id: string,
  update: AnswerUpdate,
): Promise<Message | undefined> {
  // The words of an answer that has ended (its text is final) join its conversation's.
  const { rows } = await db.query<Message>(
    `WITH saved AS (
       UPDATE messages m SET content = $3, status = $4, error = $5::jsonb, tool_calls = $6::jsonb, stats = $7::jsonb,
              thinking = $8
         FROM conversations c
        WHERE m.id = $1 AND c.id = m.conversation_id AND c.user_id = $2
        RETURNING m.*
     )${update.status === "streaming" ? "" : `, terms AS (${endedTerms("saved")})`}
     SELECT ${messageColumns()} FROM saved`,
    [
      id,
      userId,
      checkText(update.content, "content"),
      update.status,
      jsonParam(update.error, "error"),
      jsonParam(update.toolCalls?.length ? update.toolCalls : null, "tool_calls"),
      jsonParam(update.stats, "stats"),
      update.thinking ? checkText(update.thinking, "thinking") : null,
    ],
  );
  const row = rows[0];
  return row ? toMessage(row) : undefined;
}

/**
 * Marks an answer `stopped` if it is still `streaming` with no generation behind it in this
 * process (the server that ran it is gone); any other message comes back unchanged.
 */
/**
 * Marks `stopped` every answer still `streaming` when a server starts: the server that was writing
 * them is gone (a crash or a kill skips the save-on-close), and nothing will ever finish them.
 * A server's answers live in its own process (src/chat/service.ts), so at its start none is live.
 */
export async function stopStreamingAnswers(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ stopped: number }>(
    `WITH stopped AS (UPDATE messages SET status = 'stopped' WHERE status = 'streaming' RETURNING *),
          terms AS (${endedTerms("stopped")})
     SELECT count(*)::int AS stopped FROM stopped`,
  );
  return rows[0]?.stopped ?? 0;
}

export async function stopOrphanAnswer(db: Queryable, userId: string, id: string): Promise<Message> {
  if (!isUuid(userId) || !isUuid(id)) throw messageNotFound();
  const { rows } = await db.query<Message>(
    `WITH stopped AS (
       UPDATE messages m SET status = 'stopped'
         FROM conversations c
        WHERE m.id = $1 AND c.id = m.conversation_id AND c.user_id = $2 AND m.status = 'streaming'
        RETURNING m.*
     ), terms AS (${endedTerms("stopped")})
     SELECT ${messageColumns()} FROM stopped`,
    [id, userId],
  );
  const row = rows[0];
  return row ? toMessage(row) : getMessage(db, userId, id);
}
