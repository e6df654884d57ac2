/**
 * Listing a user's conversations, pinned first then most recently active, in keyset pages (each
 * page one statement, however deep), optionally filtered by a full-text search of titles and
 * message text. The search uses the GIN indexes of migrations 2 and 6 (src/store/migrations.ts):
 * the expressions here must stay exactly `to_tsvector('simple', title)` and MESSAGE_VECTOR for
 * the planner to use them.
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
 * A tsquery text for `q`: its words (runs of letters and digits, so nothing in it is tsquery
 * syntax), all required, the last one as a prefix (the user is still typing it). Undefined when
 * `q` holds no word.
 */
function searchQuery(q: string): string | undefined {
  const words = q.match(/[\p{L}\p{N}]+/gu)?.slice(0, 32);
  if (!words || words.length === 0) return undefined;
  return words.map((word, i) => `'${word}'${i === words.length - 1 ? ":*" : ""}`).join(" & ");
}

/**
 * A message's text and its owner as one vector: the owner is the lexeme "~<user id>", which no
 * text produces, so ANDing it with the words makes the index return the searcher's messages only.
 */
const MESSAGE_VECTOR = "(to_tsvector('simple', m.content) || ('~' || m.user_id::text)::tsvector)";

/** One page of the user's conversations (one SQL statement). */
export async function listConversations(
  db: Queryable,
  userId: string,
  options: ListConversationsOptions = {},
): Promise<ConversationPage> {
  const limit = Math.max(1, clamp(options.limit, 50, 200, "limit"));
  const after =
    options.cursor === undefined || options.cursor === "" ? undefined : decodeCursor(options.cursor);
  const query = options.q === undefined ? undefined : searchQuery(options.q);
  if (!isUuid(userId)) return { conversations: [], nextCursor: null };

  const params: unknown[] = [userId, limit + 1];
  const where = ["c.user_id = $1"];
  if (after) {
    params.push(after.pinned, after.activityUs, after.id);
    where.push(
      `(c.pinned, c.updated_at, c.id) < ($3::boolean, timestamptz 'epoch' + $4::bigint * interval '1 microsecond', $5::uuid)`,
    );
  }
  if (query !== undefined) {
    params.push(query);
    const tsq = `to_tsquery('simple', $${params.length})`;
    // Each search runs once over its GIN index into a hashed set that the list then probes per
    // conversation. Kept apart by OR on purpose: as one IN (… UNION …) the planner made it a
    // nested-loop semi-join (300 ms for a rare word); and `to_tsvector(c.title) @@ q` in place of
    // the first set computed the vector for every conversation walked (~28 of 39 ms).
    where.push(
      `(c.id IN (SELECT t.id FROM conversations t WHERE t.user_id = $1 AND to_tsvector('simple', t.title) @@ ${tsq})
        OR c.id IN (SELECT m.conversation_id FROM messages m
                     WHERE ${MESSAGE_VECTOR} @@ (${tsq} && ('~' || $1::text)::tsquery)))`,
    );
  } else if (options.q !== undefined && options.q.trim() !== "") {
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
