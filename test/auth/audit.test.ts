/**
 * `GET /api/admin/audit` on a real platform (HTTP on port 0, PGlite): logins, a user added and a
 * key revoked through the API appear in order with who, what and from where; pages chain by
 * `next_before`; `action` filters exactly or by prefix; bad parameters are 400s naming them; only
 * an admin may read; SQL in a filter is just text.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntryWire, AuditPageWire } from "../../src/api/audit-client.js";
import type { CreatedKeyWire } from "../../src/api/keys-client.js";
import { createUser } from "../../src/auth/users.js";
import type { Database } from "../../src/store/types.js";
import { bearer, jsonFetch, localAdminToken, loginCookie, postLogin } from "../support/auth-http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";

const PAYLOADS = [
  "'; DROP TABLE audit_log; --",
  "login.' OR '1'='1",
  "%",
  "_%*",
  "$1::text",
  "\\'; DELETE FROM users; --",
];

describe("the audit log over HTTP", () => {
  let platform: TestPlatform;
  let db: Database;
  let token: string;
  let rootCookie: string;
  /** Every entry this file's first test produced, oldest first. */
  let produced: AuditEntryWire[] = [];

  const get = (query: string, headers: Record<string, string>): Promise<Response> =>
    fetch(`${platform.url}/api/admin/audit${query}`, { headers });

  const page = async (query: string): Promise<AuditPageWire> => {
    const response = await get(query, { Cookie: rootCookie });
    expect(response.status, await response.clone().text()).toBe(200);
    return (await response.json()) as AuditPageWire;
  };

  beforeAll(async () => {
    platform = await startTestPlatform({ flags: { "engine.threads": 1 } });
    db = platform.deps.db!;
    token = await localAdminToken(platform.config);
    await createUser(db, { username: "root", password: "root-password-12", role: "admin" });
    await createUser(db, { username: "alice", password: "alice-password-1", role: "user" });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("lists logins, a user add and a key revoke newest first, with actor, target and address", async () => {
    const latest = (await (await get("?limit=1", bearer(token))).json()) as AuditPageWire;
    const mark = latest.entries[0]?.id ?? 0;

    rootCookie = await loginCookie(platform.url, "root", "root-password-12");
    expect((await postLogin(platform.url, "root", "not-the-password")).status).toBe(401);
    await loginCookie(platform.url, "alice", "alice-password-1");
    const added = await jsonFetch(
      platform.url,
      "POST",
      "/api/admin/users",
      { username: "bob", password: "bob-password-123" },
      { Cookie: rootCookie },
    );
    expect(added.status, await added.clone().text()).toBe(201);
    const minted = await jsonFetch(
      platform.url,
      "POST",
      "/api/admin/keys",
      { name: "ci", user: "bob" },
      bearer(token),
    );
    expect(minted.status).toBe(201);
    const key = (await minted.json()) as CreatedKeyWire;
    const revoked = await jsonFetch(platform.url, "DELETE", `/api/admin/keys/${key.id}`, undefined, {
      Cookie: rootCookie,
    });
    expect(revoked.status).toBe(200);

    const listed = await page("");
    const ids = listed.entries.map((e) => e.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    produced = listed.entries.filter((e) => e.id > mark).reverse();
    expect(produced.map((e) => [e.action, e.actor, e.target])).toEqual([
      ["login.success", "root", "root"],
      ["login.failure", "anonymous", "root"],
      ["login.success", "alice", "alice"],
      ["user.add", "root", "bob"],
      ["key.create", "local_token", key.prefix],
      ["key.revoke", "root", key.prefix],
    ]);
    const rootId = produced[0]!.actor_id;
    expect(rootId).toMatch(/^[0-9a-f-]{36}$/);
    expect(produced[1]!.actor_id).toBeNull();
    expect(produced[3]).toMatchObject({ actor_id: rootId, details: { role: "user", status: "active" } });
    expect(produced[5]).toMatchObject({ actor_id: rootId, details: { name: "ci", user: "bob" } });
    for (const entry of produced) {
      expect(entry.address).toMatch(/127\.0\.0\.1|::1/);
      expect(Math.abs(Date.parse(entry.at) - Date.now())).toBeLessThan(10 * 60_000);
    }
    // Nothing secret reached the log.
    const text = JSON.stringify(listed);
    for (const secret of ["root-password-12", "not-the-password", "bob-password-123", key.key]) {
      expect(text).not.toContain(secret);
    }
  });

  it("pages by `before`: the pages chain through next_before to the whole log", async () => {
    const all = (await page("?limit=500")).entries;
    expect(all.length).toBeGreaterThan(5);
    const seen: AuditEntryWire[] = [];
    let query = "?limit=2";
    for (;;) {
      const next = await page(query);
      expect(next.entries.length).toBeLessThanOrEqual(2);
      seen.push(...next.entries);
      if (next.next_before === null) break;
      expect(next.next_before).toBe(next.entries.at(-1)!.id);
      query = `?limit=2&before=${next.next_before}`;
    }
    expect(seen).toEqual(all);
    expect((await page(`?before=${all.at(-1)!.id}`)).entries).toEqual([]);
    const second = produced[1]!;
    expect((await page(`?before=${produced[2]!.id}&limit=1`)).entries).toEqual([second]);
  });

  it("filters by an exact action or a prefix ending in . or *", async () => {
    const actions = async (action: string) =>
      (await page(`?action=${encodeURIComponent(action)}`)).entries.map((e) => e.action);
    const logins = await actions("login.");
    expect(logins).toEqual(["login.success", "login.failure", "login.success"]);
    expect(await actions("login*")).toEqual(logins);
    expect(await actions("login.*")).toEqual(logins);
    expect(await actions("login.failure")).toEqual(["login.failure"]);
    expect(await actions("key.")).toEqual(["key.revoke", "key.create"]);
    // Without a trailing . or *, a filter is exact: no action is called just "login".
    expect(await actions("login")).toEqual([]);
    // The prefix is text, not a LIKE pattern.
    expect(await actions("l_gin.")).toEqual([]);
  });

  it("answers 400 naming the parameter for a bad limit, before or action", async () => {
    const cases: [string, string][] = [
      ["?limit=0", "limit"],
      ["?limit=501", "limit"],
      ["?limit=abc", "limit"],
      ["?limit=", "limit"],
      ["?limit=-5", "limit"],
      ["?limit=1.5", "limit"],
      ["?before=0", "before"],
      ["?before=x", "before"],
      ["?before=-1", "before"],
      ["?action=", "action"],
      [`?action=${"a".repeat(201)}`, "action"],
      ["?action=%00", "action"],
    ];
    for (const [query, param] of cases) {
      const response = await get(query, { Cookie: rootCookie });
      const body = (await response.json()) as { error: string };
      expect(response.status, query).toBe(400);
      expect(body.error, query).toContain(param);
    }
    expect((await page("?limit=500")).entries.length).toBeGreaterThan(0);
  });

  it("is for admins: 403 for a user's session, 401 without a credential", async () => {
    const aliceCookie = await loginCookie(platform.url, "alice", "alice-password-1");
    const asAlice = await get("", { Cookie: aliceCookie });
    expect(asAlice.status).toBe(403);
    expect(JSON.stringify(await asAlice.json())).not.toContain("login.");
    const anonymous = await get("", {});
    expect(anonymous.status).toBe(401);
    expect(JSON.stringify(await anonymous.json())).not.toContain("login.");
    // The local token is an admin credential too (what `aixcl audit` sends).
    expect((await get("?limit=1", bearer(token))).status).toBe(200);
  });

  it("treats SQL in `action` as a filter that matches nothing; the tables stay intact", async () => {
    const counts = async () =>
      (
        await db.query<{ audit: string; users: string }>(
          "SELECT (SELECT count(*) FROM audit_log) AS audit, (SELECT count(*) FROM users) AS users",
        )
      ).rows[0];
    const before = await counts();
    for (const payload of PAYLOADS) {
      const listed = await page(`?action=${encodeURIComponent(payload)}`);
      expect(listed, payload).toEqual({ entries: [], next_before: null });
    }
    expect(await counts()).toEqual(before);
  });
});
