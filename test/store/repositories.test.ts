import { beforeAll, describe, expect, it } from "vitest";
import { listAudit, recordAudit } from "../../src/store/audit.js";
import { listConversations as listPage } from "../../src/store/conversation-search.js";
import {
  createConversation,
  deleteConversation,
  getConversation,
  renameConversation,
} from "../../src/store/conversations.js";
import { appendMessage, appendMessages, listMessages } from "../../src/store/messages.js";
import { insertSession, lookupSession } from "../../src/store/sessions.js";
import { deleteSetting, getSetting, setSetting } from "../../src/store/settings.js";
import type { Queryable } from "../../src/store/types.js";
import type { Conversation } from "../../src/store/conversations.js";
import { rejectedAppError } from "../support/app-error.js";
import { describeEachDatabase } from "../support/databases.js";

/** A user row straight in SQL: this suite tests the chat/audit/settings repositories, not users. */
/** The first page's conversations (the tests below have fewer than a page). */
async function listConversations(
  db: Queryable,
  userId: string,
  options?: Parameters<typeof listPage>[2],
): Promise<Conversation[]> {
  return (await listPage(db, userId, options)).conversations;
}

async function addUser(db: Queryable, username: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    "INSERT INTO users (username, password_hash, role) VALUES ($1, 'x', 'user') RETURNING id",
    [username],
  );
  return rows[0]!.id;
}

describeEachDatabase("repositories", (db, engine) => {
  describe("conversations and messages", () => {
    let alice: string;
    let bob: string;
    beforeAll(async () => {
      alice = await addUser(db(), "alice");
      bob = await addUser(db(), "bob");
    });

    describe("ownership", () => {
      it("another user's conversation behaves as not found for every operation", async () => {
        const mine = await createConversation(db(), alice, { title: "private", model: "m:1" });
        await appendMessage(db(), alice, mine.id, { role: "user", content: "secret" });

        const attempts: [string, () => Promise<unknown>][] = [
          ["get", () => getConversation(db(), bob, mine.id)],
          ["rename", () => renameConversation(db(), bob, mine.id, "pwned")],
          ["delete", () => deleteConversation(db(), bob, mine.id)],
          ["append", () => appendMessage(db(), bob, mine.id, { role: "user", content: "injected" })],
          ["list messages", () => listMessages(db(), bob, mine.id)],
        ];
        for (const [name, attempt] of attempts) {
          expect((await rejectedAppError(attempt())).code, name).toBe("not_found");
        }
        expect((await listConversations(db(), bob)).map((c) => c.id)).not.toContain(mine.id);

        // Nothing changed for the owner.
        const still = await getConversation(db(), alice, mine.id);
        expect(still.title).toBe("private");
        expect(still.userId).toBe(alice);
        expect((await listMessages(db(), alice, mine.id)).map((m) => m.content)).toEqual(["secret"]);
      });

      it("ids that are not UUIDs or do not exist are not found, without a database error", async () => {
        for (const id of ["nope", "' OR 1=1 --", "00000000-0000-0000-0000-000000000000"]) {
          expect((await rejectedAppError(getConversation(db(), alice, id))).code).toBe("not_found");
          expect((await rejectedAppError(listMessages(db(), id, id))).code).toBe("not_found");
        }
        const missingUser = await rejectedAppError(
          createConversation(db(), "00000000-0000-0000-0000-000000000000"),
        );
        expect(missingUser.code).toBe("not_found");
      });

      it("rename and delete work for the owner; deleting removes the messages too", async () => {
        const conversation = await createConversation(db(), alice);
        expect(conversation.title).toBe("");
        expect(conversation.model).toBeNull();
        const renamed = await renameConversation(db(), alice, conversation.id, "renamed");
        expect(renamed.title).toBe("renamed");
        await appendMessages(db(), alice, conversation.id, [
          { role: "user", content: "a" },
          { role: "assistant", content: "b" },
        ]);
        await deleteConversation(db(), alice, conversation.id);
        expect((await rejectedAppError(getConversation(db(), alice, conversation.id))).code).toBe(
          "not_found",
        );
        const left = await db().query("SELECT 1 FROM messages WHERE conversation_id = $1", [conversation.id]);
        expect(left.rows).toHaveLength(0);
        expect((await rejectedAppError(deleteConversation(db(), alice, conversation.id))).code).toBe(
          "not_found",
        );
      });
    });

    describe("messages", () => {
      it("keep the order they were appended in, one row each, with their fields", async () => {
        const conversation = await createConversation(db(), alice, { title: "order" });
        const metadata = {
          timings: { prompt_ms: 12.5 },
          tool_calls: [{ name: "x", arguments: { a: [1, "2"] } }],
        };
        await appendMessage(db(), alice, conversation.id, { role: "system", content: "be brief" });
        await appendMessage(db(), alice, conversation.id, { role: "user", content: "hi" });
        const reply = await appendMessage(db(), alice, conversation.id, {
          role: "assistant",
          content: "hello",
          model: "tiny:latest",
          metadata,
        });
        expect(reply).toMatchObject({ seq: 3, role: "assistant", model: "tiny:latest", metadata });
        await appendMessages(db(), alice, conversation.id, [
          { role: "user", content: "and?" },
          { role: "assistant", content: "done" },
        ]);

        const messages = await listMessages(db(), alice, conversation.id);
        expect(messages.map((m) => [m.seq, m.role, m.content])).toEqual([
          [1, "system", "be brief"],
          [2, "user", "hi"],
          [3, "assistant", "hello"],
          [4, "user", "and?"],
          [5, "assistant", "done"],
        ]);
        expect(messages[0]!.metadata).toBeNull();
        expect(messages[2]!.metadata).toEqual(metadata);
        expect(
          messages.every((m) => m.createdAt instanceof Date && m.conversationId === conversation.id),
        ).toBe(true);

        expect((await listMessages(db(), alice, conversation.id, { afterSeq: 3 })).map((m) => m.seq)).toEqual(
          [4, 5],
        );
        expect(
          (await listMessages(db(), alice, conversation.id, { afterSeq: 1, limit: 2 })).map((m) => m.seq),
        ).toEqual([2, 3]);
        expect(await listMessages(db(), alice, conversation.id, { afterSeq: 5 })).toEqual([]);

        // Appending never rewrote an earlier row.
        const ids = await db().query<{ id: string }>(
          "SELECT id FROM messages WHERE conversation_id = $1 ORDER BY seq",
          [conversation.id],
        );
        expect(ids.rows.map((row) => row.id)).toEqual(messages.map((m) => m.id));
      });

      it(`concurrent appends get distinct consecutive seqs [${engine}]`, async () => {
        const conversation = await createConversation(db(), alice, { title: "race" });
        const singles = Array.from({ length: 24 }, (_, i) =>
          appendMessage(db(), alice, conversation.id, { role: "user", content: `single ${i}` }),
        );
        const batches = Array.from({ length: 4 }, (_, i) =>
          appendMessages(db(), alice, conversation.id, [
            { role: "user", content: `batch ${i} q` },
            { role: "assistant", content: `batch ${i} a` },
          ]),
        );
        const [appended, batched] = await Promise.all([Promise.all(singles), Promise.all(batches)]);
        const messages = await listMessages(db(), alice, conversation.id);
        expect(messages.map((m) => m.seq)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
        expect(new Set(messages.map((m) => m.content)).size).toBe(32);
        expect(appended.map((m) => m.seq).sort((a, b) => a - b)).toHaveLength(24);
        // A batch is one transaction: its two messages are adjacent.
        for (const batch of batched) expect(batch[1]!.seq - batch[0]!.seq).toBe(1);
      });

      it("refuses text PostgreSQL cannot store and unknown roles as invalid requests", async () => {
        const conversation = await createConversation(db(), alice);
        const bad = [
          () => appendMessage(db(), alice, conversation.id, { role: "user", content: "a\0b" }),
          () => appendMessage(db(), alice, conversation.id, { role: "hacker" as "user", content: "x" }),
          () =>
            appendMessage(db(), alice, conversation.id, {
              role: "user",
              content: "x",
              metadata: { a: "\0" },
            }),
          () => renameConversation(db(), alice, conversation.id, "t\0"),
          () => createConversation(db(), alice, { title: "x".repeat(513) }),
        ];
        for (const attempt of bad) expect((await rejectedAppError(attempt())).code).toBe("invalid_request");
        expect(await listMessages(db(), alice, conversation.id)).toEqual([]);
      });
    });

    describe("listing", () => {
      it("lists the user's conversations most recently active first, a page at a time", async () => {
        const carol = await addUser(db(), "carol");
        const first = await createConversation(db(), carol, { title: "first" });
        const second = await createConversation(db(), carol, { title: "second" });
        const third = await createConversation(db(), carol, { title: "third" });
        expect((await listConversations(db(), carol)).map((c) => c.title)).toEqual([
          "third",
          "second",
          "first",
        ]);

        await appendMessage(db(), carol, first.id, { role: "user", content: "bump" });
        expect((await listConversations(db(), carol)).map((c) => c.id)).toEqual([
          first.id,
          third.id,
          second.id,
        ]);
        const page = await listPage(db(), carol, { limit: 2 });
        expect(page.conversations.map((c) => c.id)).toEqual([first.id, third.id]);
        const next = await listPage(db(), carol, { limit: 2, cursor: page.nextCursor ?? "" });
        expect(next.conversations.map((c) => c.id)).toEqual([second.id]);
        expect(next.nextCursor).toBeNull();
        expect((await rejectedAppError(listConversations(db(), carol, { limit: -1 }))).code).toBe(
          "invalid_request",
        );
      });

      it("deleting a user deletes their conversations and messages", async () => {
        const dave = await addUser(db(), "dave");
        const conversation = await createConversation(db(), dave);
        await appendMessage(db(), dave, conversation.id, { role: "user", content: "bye" });
        await db().query("DELETE FROM users WHERE id = $1", [dave]);
        const left = await db().query(
          "SELECT 1 FROM conversations WHERE user_id = $1 UNION ALL SELECT 1 FROM messages WHERE conversation_id = $2",
          [dave, conversation.id],
        );
        expect(left.rows).toHaveLength(0);
      });
    });
  });

  describe("sessions", () => {
    const DAY_MS = 86_400_000;
    const expiryOf = async (idHash: string) =>
      (
        await db().query<{ expires: string }>(
          "SELECT extract(epoch FROM expires_at)::float8 AS expires FROM sessions WHERE id_hash = $1",
          [idHash],
        )
      ).rows[0]?.expires;
    const age = (idHash: string, set: string) =>
      db().query(`UPDATE sessions SET ${set} WHERE id_hash = $1`, [idHash]);

    it("a session's expiry slides with use at most once a minute, never for an expired or disabled one", async () => {
      const userId = await addUser(db(), "sessions-user");
      await insertSession(db(), { idHash: "fresh", userId, ttlMs: DAY_MS });
      const fresh = await expiryOf("fresh");
      expect(await lookupSession(db(), "fresh", 2 * DAY_MS)).toMatchObject({ userId, touched: false });
      expect(await expiryOf("fresh")).toBe(fresh);

      // Seen two minutes ago: this request pushes the expiry to now + ttl.
      await age("fresh", "last_seen_at = now() - interval '2 minutes'");
      expect(await lookupSession(db(), "fresh", 2 * DAY_MS)).toMatchObject({ userId, touched: true });
      const slid = Number(await expiryOf("fresh"));
      expect(slid - Number(fresh)).toBeGreaterThan(DAY_MS / 1000 - 60);
      expect(await lookupSession(db(), "fresh", 2 * DAY_MS)).toMatchObject({ touched: false });

      await age(
        "fresh",
        "last_seen_at = now() - interval '2 minutes', expires_at = now() - interval '1 second'",
      );
      expect(await lookupSession(db(), "fresh", 2 * DAY_MS)).toBeUndefined();
      expect(Number(await expiryOf("fresh"))).toBeLessThan(Date.now() / 1000);

      await insertSession(db(), { idHash: "disabled", userId, ttlMs: DAY_MS });
      await db().query("UPDATE users SET status = 'disabled' WHERE id = $1", [userId]);
      expect(await lookupSession(db(), "disabled", DAY_MS)).toBeUndefined();
    });
  });

  describe("audit log", () => {
    it("records entries and lists them newest first, by page and by action", async () => {
      const actorId = await addUser(db(), "admin");
      const entry = {
        actorId,
        actor: "admin",
        action: "user.create",
        target: "erin",
        address: "127.0.0.1",
        details: { role: "user", pending: false },
      };
      const first = await recordAudit(db(), entry);
      expect(first).toMatchObject(entry);
      expect(first.at).toBeInstanceOf(Date);
      const second = await recordAudit(db(), { actor: "cli", action: "login.failed", address: "::1" });
      expect(second).toMatchObject({ actorId: null, target: null, details: null });
      const third = await recordAudit(db(), { actor: "cli", action: "user.create", target: "frank" });

      expect((await listAudit(db())).map((e) => e.id)).toEqual([third.id, second.id, first.id]);
      expect((await listAudit(db(), { limit: 2 })).map((e) => e.id)).toEqual([third.id, second.id]);
      expect((await listAudit(db(), { before: second.id })).map((e) => e.id)).toEqual([first.id]);
      expect((await listAudit(db(), { action: "user.create" })).map((e) => e.target)).toEqual([
        "frank",
        "erin",
      ]);
      expect(await listAudit(db(), { action: "nothing.like.this" })).toEqual([]);

      // The record outlives the user.
      await db().query("DELETE FROM users WHERE id = $1", [actorId]);
      expect((await listAudit(db(), { action: "user.create" })).at(-1)).toMatchObject({
        actorId,
        actor: "admin",
      });
    });

    it("refuses entries without an actor or action", async () => {
      expect((await rejectedAppError(recordAudit(db(), { actor: "", action: "x" }))).code).toBe(
        "invalid_request",
      );
      expect((await rejectedAppError(recordAudit(db(), { actor: "x", action: "" }))).code).toBe(
        "invalid_request",
      );
      expect(
        (await rejectedAppError(recordAudit(db(), { actorId: "1 OR 1=1", actor: "x", action: "y" }))).code,
      ).toBe("invalid_request");
    });
  });

  describe("settings", () => {
    it("returns the fallback until set, then the stored JSON, through overwrites and deletes", async () => {
      expect(await getSetting(db(), "signup", "closed")).toBe("closed");
      await setSetting(db(), "signup", "open");
      expect(await getSetting(db(), "signup", "closed")).toBe("open");
      await setSetting(db(), "signup", "closed");
      expect(await getSetting(db(), "signup", "open")).toBe("closed");

      const values: unknown[] = [
        { nested: { list: [1, 2.5, "three", true, null] } },
        [],
        0,
        false,
        null,
        "ünïcödé 🦙",
      ];
      for (const value of values) {
        await setSetting(db(), "shape", value);
        expect(await getSetting<unknown>(db(), "shape", "fallback")).toEqual(value);
      }
      expect(await deleteSetting(db(), "shape")).toBe(true);
      expect(await deleteSetting(db(), "shape")).toBe(false);
      expect(await getSetting(db(), "shape", 42)).toBe(42);
    });

    it("checks the stored shape with a schema and names the key when it does not match", async () => {
      const isBoolean = {
        parse(value: unknown): boolean {
          if (typeof value !== "boolean") throw new TypeError("not a boolean");
          return value;
        },
      };
      await setSetting(db(), "flag", true);
      expect(await getSetting(db(), "flag", false, isBoolean)).toBe(true);
      await setSetting(db(), "flag", "yes");
      const error = await rejectedAppError(getSetting(db(), "flag", false, isBoolean));
      expect(error.code).toBe("internal");
      expect(error.message).toContain("flag");
    });

    it("refuses values that are not JSON and keys that are empty or too long", async () => {
      expect((await rejectedAppError(setSetting(db(), "k", undefined))).code).toBe("invalid_request");
      expect((await rejectedAppError(setSetting(db(), "", 1))).code).toBe("invalid_request");
      expect((await rejectedAppError(setSetting(db(), "k".repeat(257), 1))).code).toBe("invalid_request");
      expect((await rejectedAppError(getSetting(db(), "a\0b", 1))).code).toBe("invalid_request");
    });
  });
});
