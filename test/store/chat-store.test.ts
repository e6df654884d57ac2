/**
 * The web chat's store on both engines: migration 2 turns a linear history into a parent chain;
 * conversations list pinned first then by activity in keyset pages, searched by full text (prefix
 * on the last word); messages form a tree; and the statement budgets of docs/web-app.md hold —
 * a list page in at most 2 SQL statements, opening a 200-message chat in at most 3 — counted by
 * wrapping the Database.
 */
import { beforeAll, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { listConversations } from "../../src/store/conversation-search.js";
import { createConversation, patchConversation } from "../../src/store/conversations.js";
import { migrate } from "../../src/store/migrate.js";
import { MIGRATIONS } from "../../src/store/migrations.js";
import {
  insertSiblingAnswer,
  insertTurn,
  saveAnswer,
  stopStreamingAnswers,
} from "../../src/store/answers.js";
import { appendMessages, branchPath, openConversation } from "../../src/store/messages.js";
import type { Database, Queryable } from "../../src/store/types.js";
import { rejectedAppError } from "../support/app-error.js";
import { describeEachDatabase } from "../support/databases.js";
import { recordingDatabase } from "../support/recording-database.js";

/** `db` with every statement counted (transactions count their BEGIN and COMMIT too). */
function counting(db: Database): { db: Database; count: () => number } {
  const recorded = recordingDatabase(db);
  return { db: recorded.db, count: () => recorded.statements.length };
}

class Rollback extends Error {}

describeEachDatabase("chat store", (db) => {
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    alice = (await createUser(db(), { username: "alice", password: "alice-password-1", role: "user" })).id;
    bob = (await createUser(db(), { username: "bob", password: "bob-password-1", role: "user" })).id;
  });

  it("migration 2 turns each conversation's linear history into a parent chain, migration 7 indexes its words", async () => {
    // Schema version 1 in a scratch schema of one transaction, rolled back at the end.
    const error = await db()
      .transaction(async (tx) => {
        await tx.query("CREATE SCHEMA chat_v1");
        await tx.query("SET LOCAL search_path TO chat_v1");
        const inTx: Database = {
          engine: db().engine,
          query: tx.query,
          transaction: (fn) => fn(tx),
          exec: async (sql) => {
            await tx.query(sql);
          },
          sizeBytes: () => db().sizeBytes(),
          close: async () => undefined,
        };
        await migrate(inTx, MIGRATIONS.slice(0, 1));
        const user = await tx.query<{ id: string }>(
          "INSERT INTO users (username, password_hash, role) VALUES ('u', 'x', 'user') RETURNING id",
        );
        const ids: string[] = [];
        for (const title of ["one", "two"]) {
          const conversation = await tx.query<{ id: string }>(
            "INSERT INTO conversations (user_id, title) VALUES ($1, $2) RETURNING id",
            [user.rows[0]?.id, title],
          );
          ids.push(conversation.rows[0]?.id ?? "");
          for (const [seq, role] of [
            [1, "user"],
            [2, "assistant"],
            [3, "user"],
            [5, "assistant"],
          ] as const) {
            await tx.query(
              "INSERT INTO messages (conversation_id, seq, role, content) VALUES ($1, $2, $3, $4)",
              [conversation.rows[0]?.id, seq, role, `${title} ${seq}`],
            );
          }
        }
        expect((await migrate(inTx, MIGRATIONS.slice(0, 2))).applied.map((a) => a.version)).toEqual([2]);
        for (const id of ids) {
          const { rows } = await tx.query<{ seq: number; parent_seq: number | null; status: string }>(
            `SELECT m.seq, p.seq AS parent_seq, m.status FROM messages m
               LEFT JOIN messages p ON p.id = m.parent_id WHERE m.conversation_id = $1 ORDER BY m.seq`,
            [id],
          );
          expect(rows).toEqual([
            { seq: 1, parent_seq: null, status: "done" },
            { seq: 2, parent_seq: 1, status: "done" },
            { seq: 3, parent_seq: 2, status: "done" },
            { seq: 5, parent_seq: 3, status: "done" },
          ]);
        }
        // Migration 7: each conversation is found by the words of its title and its messages.
        // (Migration 6 alters messages: the deferred parent checks of the rows above run first.)
        await tx.query("SET CONSTRAINTS ALL IMMEDIATE");
        await migrate(inTx, MIGRATIONS);
        const terms = await tx.query<{ term: string }>(
          "SELECT term FROM conversation_terms WHERE conversation_id = $1 ORDER BY term",
          [ids[1]],
        );
        expect(terms.rows.map((row) => row.term)).toEqual(["1", "2", "3", "5", "two"]);
        throw new Rollback();
      })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(Rollback);
  });

  it("lists pinned first, then most recently active, in keyset pages that survive new activity", async () => {
    const carol = (await createUser(db(), { username: "carol", password: "carol-password-1", role: "user" }))
      .id;
    const made = [];
    for (let i = 0; i < 7; i++) made.push(await createConversation(db(), carol, { title: `chat ${i}` }));
    await patchConversation(db(), carol, made[2]!.id, { pinned: true });
    await appendMessages(db(), carol, made[0]!.id, [{ role: "user", content: "bump" }]);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listConversations(db(), carol, { limit: 3, ...(cursor ? { cursor } : {}) });
      seen.push(...page.conversations.map((c) => c.title));
      cursor = page.nextCursor ?? undefined;
      pages++;
      // Activity between pages does not repeat or skip rows of the pages still to come.
      if (pages === 1) await createConversation(db(), carol, { title: "newer" });
    } while (cursor);
    expect(seen).toEqual(["chat 2", "chat 0", "chat 6", "chat 5", "chat 4", "chat 3", "chat 1"]);
    expect((await rejectedAppError(listConversations(db(), carol, { cursor: "bogus" }))).code).toBe(
      "invalid_request",
    );
    expect((await listConversations(db(), bob)).conversations).toEqual([]);
  });

  it("searches titles and message text, the last word as a prefix, only the user's own", async () => {
    const dave = (await createUser(db(), { username: "dave", password: "dave-password-1", role: "user" })).id;
    const recipes = await createConversation(db(), dave, { title: "Cooking ideas" });
    const travel = await createConversation(db(), dave, { title: "Trip" });
    await appendMessages(db(), dave, travel.id, [
      { role: "user", content: "Best trains from Paris to Lyon?" },
    ]);
    const other = await createConversation(db(), bob, { title: "Cooking for bob" });
    await appendMessages(db(), bob, other.id, [{ role: "user", content: "Paris trains" }]);

    const titles = async (q: string) =>
      (await listConversations(db(), dave, { q })).conversations.map((c) => c.id);
    expect(await titles("cooking")).toEqual([recipes.id]);
    expect(await titles("cook")).toEqual([recipes.id]);
    expect(await titles("paris tra")).toEqual([travel.id]);
    expect(await titles("lyon paris")).toEqual([travel.id]);
    expect(await titles("trains cooking")).toEqual([]);
    expect(await titles("'); DROP TABLE messages; --")).toEqual([]);
    expect(await titles("!!!")).toEqual([]);

    // The search reads the conversations' words (migration 7), never the messages themselves,
    // and only dave's: bob's "Paris trains" is not read.
    let search = { sql: "", params: [] as readonly unknown[] };
    const capture: Queryable = {
      query: (sql, params) => {
        search = { sql, params: params ?? [] };
        return db().query(sql, params);
      },
    };
    expect((await listConversations(capture, dave, { q: "paris" })).conversations).toHaveLength(1);
    // EXPLAIN ANALYZE runs the query: in a transaction rolled back (by throwing) with the plan.
    let plan = "";
    try {
      await db().transaction(async (tx) => {
        // Index scans even on these few rows, where the planner would rather read the table.
        await tx.query("SET LOCAL enable_seqscan = off");
        const explained = await tx.query<{ "QUERY PLAN": unknown }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) ${search.sql}`,
          search.params,
        );
        throw new Rollback(JSON.stringify(explained.rows[0]?.["QUERY PLAN"]));
      });
    } catch (error) {
      if (!(error instanceof Rollback)) throw error;
      plan = error.message;
    }
    expect(plan).toMatch(/"Relation Name":\s*"conversation_terms"/);
    expect(plan).not.toMatch(/"Relation Name":\s*"messages"/);
  });

  it("finds a conversation by the words it has now: new titles, questions, and answers once they end", async () => {
    const gwen = (await createUser(db(), { username: "gwen", password: "gwen-password-1", role: "user" })).id;
    const chat = await createConversation(db(), gwen, { title: "Harbour walk", model: "m:1" });
    const found = async (q: string) =>
      (await listConversations(db(), gwen, { q })).conversations.map((c) => c.id);
    expect(await found("harbour")).toEqual([chat.id]);

    const turn = await insertTurn(db(), gwen, chat.id, {
      content: "Which lighthouse is oldest?",
      parentId: null,
      model: "m:1",
    });
    expect(await found("lighthouse")).toEqual([chat.id]);
    // A streaming answer's text is not final: its words count once it ends.
    await saveAnswer(db(), gwen, turn.answer.id, { content: "The granite", status: "streaming" });
    expect(await found("granite")).toEqual([]);
    await saveAnswer(db(), gwen, turn.answer.id, { content: "The granite tower.", status: "done" });
    expect(await found("granite tow")).toEqual([chat.id]);

    // A rename drops the words only the old title had; words a message also has stay.
    await patchConversation(db(), gwen, chat.id, { title: "Lighthouse notes" });
    expect(await found("harbour")).toEqual([]);
    expect(await found("notes")).toEqual([chat.id]);
    expect(await found("lighthouse")).toEqual([chat.id]);

    // An answer left streaming by a server that went away is stopped, and searchable, at the next start.
    const next = await insertTurn(db(), gwen, chat.id, {
      content: "And the keeper?",
      parentId: turn.answer.id,
      model: "m:1",
    });
    await saveAnswer(db(), gwen, next.answer.id, { content: "Lived on site", status: "streaming" });
    expect(await found("site")).toEqual([]);
    expect(await stopStreamingAnswers(db())).toBeGreaterThanOrEqual(1);
    expect(await found("site")).toEqual([chat.id]);
  });

  it("keeps messages as a tree: turns, edited questions and regenerated answers are siblings", async () => {
    const chat = await createConversation(db(), alice, { model: "m:1" });
    const first = await insertTurn(db(), alice, chat.id, {
      content: "  What   is\nup?  ",
      parentId: null,
      model: "m:1",
    });
    expect(first.conversation.title).toBe("What is up?");
    expect(first.answer).toMatchObject({ role: "assistant", status: "streaming", content: "", model: "m:1" });
    expect(first.answer.parentId).toBe(first.userMessage?.id);
    // The parent is still being answered: a follow-up must wait.
    const early = insertTurn(db(), alice, chat.id, { content: "x", parentId: first.answer.id, model: "m:1" });
    expect((await rejectedAppError(early)).code).toBe("conflict");
    await db().query("UPDATE messages SET status = 'done', content = 'fine' WHERE id = $1", [
      first.answer.id,
    ]);

    const second = await insertTurn(db(), alice, chat.id, {
      content: "and?",
      parentId: first.answer.id,
      model: "m:2",
    });
    expect(second.conversation).toMatchObject({ title: "What is up?", model: "m:2" });
    const edited = await insertTurn(db(), alice, chat.id, {
      content: "and so?",
      parentId: first.answer.id,
      model: "m:2",
    });
    const again = await insertSiblingAnswer(db(), alice, edited.answer.id, null);
    expect(again.answer.parentId).toBe(edited.userMessage?.id);

    const path = await branchPath(db(), alice, chat.id, again.answer.id);
    expect(path.map((m) => m.content)).toEqual(["  What   is\nup?  ", "fine", "and so?", ""]);
    const { messages } = await openConversation(db(), alice, chat.id);
    expect(messages.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(messages.filter((m) => m.parentId === first.answer.id)).toHaveLength(2);

    for (const attempt of [
      () => insertTurn(db(), bob, chat.id, { content: "x", parentId: null, model: "m" }),
      () => insertSiblingAnswer(db(), bob, again.answer.id, null),
      () => branchPath(db(), bob, chat.id, again.answer.id),
      () => openConversation(db(), bob, chat.id),
      () => insertTurn(db(), alice, chat.id, { content: "x", parentId: crypto.randomUUID(), model: "m" }),
    ]) {
      expect((await rejectedAppError(attempt())).code).toBe("not_found");
    }
  });

  it("lists a page in at most 2 statements and opens a 200-message chat in at most 3", async () => {
    const erin = (await createUser(db(), { username: "erin", password: "erin-password-1", role: "user" })).id;
    const big = await createConversation(db(), erin, { title: "long chat" });
    await appendMessages(
      db(),
      erin,
      big.id,
      Array.from(
        { length: 200 },
        (_, i) => ({ role: i % 2 ? "assistant" : "user", content: `message ${i}` }) as const,
      ),
    );
    for (let i = 0; i < 5; i++) await createConversation(db(), erin, { title: `other ${i}` });

    const listed = counting(db());
    const first = await listConversations(listed.db, erin, { limit: 2 });
    await listConversations(listed.db, erin, { limit: 2, cursor: first.nextCursor ?? "" });
    await listConversations(listed.db, erin, { limit: 2, q: "message 19" });
    expect(listed.count()).toBeLessThanOrEqual(3 * 2);
    const one = counting(db());
    await listConversations(one.db, erin, { limit: 50, q: "mess" });
    expect(one.count()).toBeLessThanOrEqual(2);

    const opened = counting(db());
    const { conversation, messages } = await openConversation(opened.db, erin, big.id);
    expect(opened.count()).toBeLessThanOrEqual(3);
    expect(conversation.title).toBe("long chat");
    expect(messages).toHaveLength(200);
    expect(messages[199]?.parentId).toBe(messages[198]?.id);
  });
});
