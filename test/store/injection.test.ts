/**
 * SQL-injection payloads in every string field of the store's repositories: each is stored and
 * read back byte for byte (or, where a field only admits a format, refused as invalid input), and
 * every table is still there, with its rows, afterwards.
 */
import { expect, it } from "vitest";
import { createApiKey, listApiKeys, revokeApiKey, verifyApiKey } from "../../src/auth/api-keys.js";
import { startSession } from "../../src/auth/sessions.js";
import { createUser, findUser } from "../../src/auth/users.js";
import { listAudit, recordAudit } from "../../src/store/audit.js";
import { listConversations } from "../../src/store/conversation-search.js";
import { createConversation, getConversation, renameConversation } from "../../src/store/conversations.js";
import { appendMessage, listMessages } from "../../src/store/messages.js";
import { getSetting, setSetting } from "../../src/store/settings.js";
import { findUserCredentials, insertUser, selectUserByName } from "../../src/store/users.js";
import { lookupSession } from "../../src/store/sessions.js";
import type { Database } from "../../src/store/types.js";
import { rejectedAppError } from "../support/app-error.js";
import { describeEachDatabase } from "../support/databases.js";
import { publicTables, SCHEMA_TABLES } from "../support/schema-tables.js";

const LONG = `${"'; DROP TABLE messages; -- ".repeat(4000)}${"ü🦙\\$1".repeat(10_000)}`;

/** Classic and less classic payloads (NUL-free: PostgreSQL text cannot hold NUL at all). */
const PAYLOADS = [
  "'; DROP TABLE users; --",
  '" OR 1=1 --',
  "' OR '1'='1",
  "Robert'); DROP TABLE conversations;--",
  "admin'--",
  "1; DELETE FROM audit_log WHERE true; SELECT '",
  "$1",
  "$1::text, $2",
  "$$ DROP TABLE settings $$",
  "$tag$ x $tag$",
  "\\",
  "\\'; DROP TABLE sessions; --",
  "C:\\path\\to\\file \\x41 \\000 \\\\",
  "E'\\x27'",
  "/* comment */ SELECT pg_sleep(10) --",
  "%s %d %n {0} ${x} `cmd`",
  "line\nbreak\r\n\ttab",
  "ünïcödé 🦙 𝕏 \u202eRTL\u202c \u200bzero\u200bwidth ÿ \uFEFF",
  "😀".repeat(100),
  "",
  " ",
  LONG,
];

async function tablesIntact(db: Database): Promise<void> {
  expect(await publicTables(db)).toEqual(SCHEMA_TABLES);
}

describeEachDatabase("SQL injection payloads", (db) => {
  let owner: string;

  it("chat fields: titles, models, message contents and metadata round-trip byte for byte", async () => {
    owner = (await createUser(db(), { username: "owner", password: "a-long-password-1", role: "admin" })).id;
    for (const payload of PAYLOADS) {
      const title = payload.slice(0, 512);
      const conversation = await createConversation(db(), owner, { title, model: payload });
      const message = await appendMessage(db(), owner, conversation.id, {
        role: "user",
        content: payload,
        model: payload,
        metadata: { [payload.slice(0, 1000)]: payload, list: [payload] },
      });
      const read = await getConversation(db(), owner, conversation.id);
      expect(read.title).toBe(title);
      expect(read.model).toBe(payload);
      const [stored] = await listMessages(db(), owner, conversation.id);
      expect(stored?.content).toBe(payload);
      expect(stored?.model).toBe(payload);
      expect(stored?.metadata).toEqual({ [payload.slice(0, 1000)]: payload, list: [payload] });
      expect(stored?.id).toBe(message.id);
      expect((await renameConversation(db(), owner, conversation.id, title)).title).toBe(title);
      // Payloads as ids are just ids that do not exist.
      expect((await rejectedAppError(getConversation(db(), owner, payload))).code).toBe("not_found");
      expect((await rejectedAppError(listMessages(db(), payload, conversation.id))).code).toBe("not_found");
    }
    expect((await listConversations(db(), owner, { limit: 200 })).conversations).toHaveLength(
      PAYLOADS.length,
    );
    await tablesIntact(db());
  });

  it("audit fields and settings (keys and values) round-trip byte for byte", async () => {
    for (const payload of PAYLOADS.filter((p) => p !== "")) {
      const entry = await recordAudit(db(), {
        actorId: owner,
        actor: payload,
        action: payload,
        target: payload,
        address: payload,
        details: { payload },
      });
      const [listed] = await listAudit(db(), { action: payload, limit: 1 });
      expect(listed).toEqual(entry);
      expect(listed).toMatchObject({ actor: payload, action: payload, target: payload, address: payload });
      expect(listed?.details).toEqual({ payload });

      const key = payload.slice(0, 256);
      await setSetting(db(), key, { payload });
      expect(await getSetting(db(), key, null)).toEqual({ payload });
    }
    expect(await getSetting(db(), "' OR 1=1 --x", "absent")).toBe("absent");
    await tablesIntact(db());
  });

  it("user, session and API key fields store payloads as text, and refuse what their format excludes", async () => {
    for (const [index, payload] of PAYLOADS.entries()) {
      // The store keeps any name the table's CHECK admits (1-64 characters)…
      const username = `${index}${payload}`.slice(0, 64);
      const user = await insertUser(db(), {
        username,
        passwordHash: payload,
        role: "user",
        status: "active",
      });
      expect((await selectUserByName(db(), username))?.id).toBe(user.id);
      const credentials = await findUserCredentials(db(), username);
      expect(credentials?.user.username).toBe(username);
      expect(credentials?.passwordHash).toBe(payload);
      // …the account service admits only its name format: the rest is refused as input, not run.
      if (payload !== "") {
        const refused = await rejectedAppError(
          createUser(db(), { username: payload, password: "a-long-password-1", role: "user" }),
        );
        expect(refused.code).toBe("invalid_request");
      }
      expect(await findUser(db(), payload)).toBeUndefined();
      expect(await findUserCredentials(db(), `${payload}x`)).toBeUndefined();

      const session = await startSession(db(), user.id, 60_000, { address: payload, userAgent: payload });
      const stored = await db().query<{ address: string; user_agent: string }>(
        "SELECT address, user_agent FROM sessions WHERE id_hash = $1",
        [session.idHash],
      );
      expect(stored.rows[0]).toEqual({ address: payload, user_agent: payload.slice(0, 512) });
      expect(await lookupSession(db(), payload, 60_000)).toBeUndefined();

      const name = payload.slice(0, 128);
      if (name === "") continue;
      // Key names are printed in terminals: control characters (escape sequences) are refused.
      if (/\p{Cc}/u.test(name)) {
        const refused = await rejectedAppError(createApiKey(db(), { userId: user.id, name }));
        expect(refused.code).toBe("invalid_request");
        continue;
      }
      const created = await createApiKey(db(), { userId: user.id, name });
      const listed = await listApiKeys(db(), { userId: user.id });
      expect(listed.map((key) => key.name)).toEqual([name]);
      expect(await verifyApiKey(db(), payload)).toBeUndefined();
      expect(await verifyApiKey(db(), `aixcl_${payload}`)).toBeUndefined();
      expect((await rejectedAppError(revokeApiKey(db(), payload))).code).toBe("not_found");
      expect(await verifyApiKey(db(), created.key)).toMatchObject({ userId: user.id, via: "api_key" });
    }
    await tablesIntact(db());
    const counts = await db().query<{ users: number; sessions: number; keys: number }>(
      "SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM sessions)::int AS sessions, (SELECT count(*) FROM api_keys)::int AS keys",
    );
    expect(counts.rows[0]).toEqual({
      users: PAYLOADS.length + 1,
      sessions: PAYLOADS.length,
      keys: PAYLOADS.filter((p) => p !== "" && !/\p{Cc}/u.test(p.slice(0, 128))).length,
    });
  });
});
