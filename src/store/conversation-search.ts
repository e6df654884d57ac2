/**
 * Listing a user's conversations, pinned first then most recently active, in keyset pages (each
 * page one statement, however deep), optionally filtered by a search of titles and message text.
 * The search reads conversation_terms (migration 7, src/store/migrations.ts): the words of each
 * conversation as to_tsvector('simple') makes them, kept by the writes in conversations.ts,
 * messages.ts and answers.ts (conversation-terms.ts).
 */
import { AppError } from "../errors.js";
import { clamp, conversationColumns, isUuid, toConversation, type Conversation } from "./chat-fields.js";
import type { Queryable } from "./types.js";

export interface ListConversationsOptions {
  /** Conversations per page. Default 50, at most 200. */
  limit?: number;
  /** The `nextCursor` of the previous page; absent for the first page. */
  cursor?: string;
  /** Words to search titles and message text for; the last word matches as a prefix. */
  q?: string;
}

export interface ConversationPage {
  conversations: Conversation[];
  /** Opaque; pass it back for the next page. Null on the last page. */
  nextCursor: string | null;
}

interface Position {
  pinned: boolean;
  /** updated_at in microseconds since the epoch (timestamptz's own precision, unlike Date). */
  activityUs: string;
  id: string;
}

function encodeCursor(position: Position): string {
  return Buffer.from(`${position.pinned ? 1 : 0}.${position.activityUs}.${position.id}`).toString(
    "base64url",
  );
}

function decodeCursor(cursor: string): Position {
  const match = /^([01])\.(-?\d{1,20})\.([0-9a-f-]{36})$/i.exec(Buffer.from(cursor, "base64url").toString());
  if (!match || !isUuid(match[3] ?? "")) {
    throw new AppError("invalid_request", "cursor is not one this server gave", { param: "cursor" });
  }
  return { pinned: match[1] === "1", activityUs: match[2] ?? "0", id: match[3] ?? "" };
}

/**
 * The words of `q` (runs of letters and digits, at most 32): all required, the last one as a
 * prefix (the user is still typing it). Empty when `q` holds no word.
 */
function searchWords(q: string): string[] {
  return q.match(/[\p{L}\p{N}]+/gu)?.slice(0, 32) ?? [];
}

/** One page of the user's conversations (one SQL statement). */
export async function listConversations(
  db: Queryable,
  userId: string,
  options: ListConversationsOptions = {},
): Promise<ConversationPage> {
  const limit = Math.max(1, clamp(options.limit, 50, 200, "limit"));
  const after =
    options.cursor === undefined || options.cursor === "" ? undefined : decodeCursor(options.cursor);
  const words = options.q === undefined ? [] : searchWords(options.q);
  if (!isUuid(userId)) return { conversations: [], nextCursor: null };

  const params: unknown[] = [userId, limit + 1];
  const where = ["c.user_id = $1"];
  if (after) {
    params.push(after.pinned, after.activityUs, after.id);
    where.push(
      `(c.pinned, c.updated_at, c.id) < ($3::boolean, timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::uuid)`,
    );
  }
  words.forEach((word, i) => {
    params.push(word);
    // lower() folds case as to_tsvector('simple') did when the word was stored. A common word is
    // found walking the list (a primary key probe per conversation, stopping at a full page), a
    // rare one through conversation_terms_search: both are EXISTS, so the planner can pick.
    const term = `lower($${params.length})`;
    const match =
      i === words.length - 1 ? `t.term >= ${term} AND t.term < ${term} || chr(1114111)` : `t.term = ${term}`;
    where.push(
      `EXISTS (SELECT 1 FROM conversation_terms t WHERE t.conversation_id = c.id AND t.user_id = $1 AND ${match})`,
    );
  });
  if (words.length === 0 && options.q !== undefined && options.q.trim() !== "") {
    // Words only of punctuation match nothing.
    return { conversations: [], nextCursor: null };
  }
  const { rows } = await db.query<Conversation & { activityUs: string }>(
    `SELECT ${conversationColumns("c")},
            ((extract(epoch FROM c.updated_at) * 1000000)::bigint)::text AS "activityUs"
       FROM conversations c
      WHERE ${where.join(" AND ")}
      ORDER BY c.pinned DESC, c.updated_at DESC, c.id DESC
      LIMIT $2`,
    params,
  );
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    conversations: page.map(({ activityUs: _activity, ...row }) => toConversation(row)),
    nextCursor:
      rows.length > limit && last
        ? encodeCursor({ pinned: last.pinned, activityUs: last.activityUs, id: last.id })
        : null,
  };
}
