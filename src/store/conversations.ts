/**
 * Chat conversations: one row each, owned by a user. Every function takes the owner's `userId`
 * and puts it in the WHERE clause: another user's conversation (or an id that does not exist or
 * is not even a UUID) answers `not_found`, so callers cannot tell the three apart. Messages live
 * in messages.ts, listing and search in conversation-search.ts.
 */
import { AppError } from "../errors.js";
import {
  CONVERSATION_COLUMNS,
  checkText,
  conversationNotFound,
  isUuid,
  jsonParam,
  MAX_TITLE_LENGTH,
  nextActivity,
  optionalText,
  toConversation,
  type Conversation,
  type ConversationOptions,
} from "./chat-fields.js";
import { addTermsSql, retitleTermsSql } from "./conversation-terms.js";
import type { Queryable } from "./types.js";

export type { Conversation } from "./chat-fields.js";

export interface ConversationFields {
  title?: string;
  model?: string | null;
  pinned?: boolean;
  system?: string | null;
  options?: ConversationOptions;
}

/** Options as stored: only the known keys, each a finite number. */
function optionsParam(options: ConversationOptions | undefined): string | null {
  if (options === undefined) return null;
  const kept: ConversationOptions = {};
  for (const key of ["temperature", "num_ctx", "num_predict"] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new AppError("invalid_request", `options.${key} must be a number`, { param: `options.${key}` });
    }
    kept[key] = value;
  }
  return jsonParam(kept, "options");
}

export async function createConversation(
  db: Queryable,
  userId: string,
  fields: ConversationFields = {},
): Promise<Conversation> {
  const title = checkText(fields.title ?? "", "title", MAX_TITLE_LENGTH);
  const model = optionalText(fields.model, "model");
  const system = optionalText(fields.system, "system");
  const options = optionsParam(fields.options) ?? "{}";
  if (!isUuid(userId)) throw new AppError("not_found", "user not found");
  try {
    const { rows } = await db.query<Conversation>(
      `WITH created AS (
         INSERT INTO conversations (user_id, title, model, pinned, system, options, updated_at)
         VALUES ($1::uuid, $2, $3, $4, $5, $6::jsonb, ${nextActivity("$1::uuid")}) RETURNING *
       ), terms AS (${addTermsSql("created", { conversation: "created.id", user: "created.user_id", text: "created.title" })})
       SELECT ${CONVERSATION_COLUMNS} FROM created`,
      [userId, title, model, fields.pinned ?? false, system, options],
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

export async function getConversation(db: Queryable, userId: string, id: string): Promise<Conversation> {
  if (!isUuid(userId) || !isUuid(id)) throw conversationNotFound();
  const { rows } = await db.query<Conversation>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations WHERE id = $1 AND user_id = $2`,
    [id, userId],
  );
  const row = rows[0];
  if (!row) throw conversationNotFound();
  return toConversation(row);
}

/**
 * Changes the fields given (absent ones stay); `model` and `system` may be set to null. Does not
 * bump the activity time: renaming or pinning is not activity.
 */
export async function patchConversation(
  db: Queryable,
  userId: string,
  id: string,
  fields: ConversationFields,
): Promise<Conversation> {
  const sets: string[] = [];
  const params: unknown[] = [id, userId];
  const set = (column: string, value: unknown, cast = "") => {
    params.push(value);
    sets.push(`${column} = $${params.length}${cast}`);
  };
  if (fields.title !== undefined) set("title", checkText(fields.title, "title", MAX_TITLE_LENGTH));
  if (fields.model !== undefined) set("model", optionalText(fields.model, "model"));
  if (fields.pinned !== undefined) set("pinned", fields.pinned);
  if (fields.system !== undefined) set("system", optionalText(fields.system, "system"));
  if (fields.options !== undefined) set("options", optionsParam(fields.options), "::jsonb");
  if (sets.length === 0) return getConversation(db, userId, id);
  if (!isUuid(userId) || !isUuid(id)) throw conversationNotFound();
  const update = `UPDATE conversations SET ${sets.join(", ")} WHERE id = $1 AND user_id = $2`;
  const { rows } = await db.query<Conversation>(
    fields.title === undefined
      ? `${update} RETURNING ${CONVERSATION_COLUMNS}`
      : // A new title changes the words the conversation is found by.
        `WITH renamed AS (${update} RETURNING *), ${retitleTermsSql("renamed")}
         SELECT ${CONVERSATION_COLUMNS} FROM renamed`,
    params,
  );
  const row = rows[0];
  if (!row) throw conversationNotFound();
  return toConversation(row);
}

export async function renameConversation(
  db: Queryable,
  userId: string,
  id: string,
  title: string,
): Promise<Conversation> {
  return patchConversation(db, userId, id, { title: checkText(title, "title", MAX_TITLE_LENGTH) });
}

/** Deletes a conversation and its messages (ON DELETE CASCADE). */
export async function deleteConversation(db: Queryable, userId: string, id: string): Promise<void> {
  if (!isUuid(userId) || !isUuid(id)) throw conversationNotFound();
  const { rowCount } = await db.query("DELETE FROM conversations WHERE id = $1 AND user_id = $2", [
    id,
    userId,
  ]);
  if (rowCount === 0) throw conversationNotFound();
}
