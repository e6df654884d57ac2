/**
 * Web login over real HTTP on both engines: the session cookie and its attributes, logout, "who
 * am I", identical answers for unknown users and wrong passwords, login rate limits per account
 * and per address (429 + Retry-After), closed-by-default sign-up with pending accounts, the admin
 * API's access rules, and SQL payloads in every field and header stored or refused as text.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import type { MeWire, UserWire } from "../../src/api/users-client.js";
import { createUser } from "../../src/auth/users.js";
import { listAudit } from "../../src/store/audit.js";
import { localAdminToken, SESSION_COOKIE, sessionCookie } from "../support/auth-http.js";
import { describeEachDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { rawRequest } from "../support/raw-http.js";

const PER_ACCOUNT = 3;
const INJECTIONS = [
  "'; DROP TABLE users; --",
  "admin' --",
  "x' OR '1'='1",
  "\\'; DELETE FROM sessions; --",
  "Robert'); DROP TABLE audit_log;--",
];

interface Answer {
  status: number;
  body: string;
  headers: Headers;
  /** `name=value` of the session cookie set by the answer, when one was. */
  cookie?: string;
}

describeEachDatabase("login", (db) => {
  let platform: TestPlatform;
  let token: string;

  const call = async (
    method: string,
    path: string,
    options: { body?: unknown; cookie?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.cookie) headers.Cookie = options.cookie;
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${platform.url}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    return {
      status: response.status,
      body: await response.text(),
      headers: response.headers,
      cookie: sessionCookie(response.headers),
    };
  };
  const login = (username: string, password: string, headers?: Record<string, string>) =>
    call("POST", "/api/auth/login", { body: { username, password }, headers });
  const asAdmin = (method: string, path: string, body?: unknown) =>
    call(method, path, { body, headers: { Authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    platform = await startTestPlatform({
      database: db(),
      flags: {
        "auth.login_attempts_per_account": PER_ACCOUNT,
        "auth.login_attempts_per_address": 1000,
        "server.allowed_hosts": ["aixcl.example"],
      },
    });
    token = await localAdminToken(platform.config);
    await createUser(db(), { username: "root", password: "root-password-1", role: "admin" });
    await createUser(db(), { username: "alice", password: "alice-password-1", role: "user" });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("logs in with a __Host- session cookie (HttpOnly, SameSite=Lax, Path=/, Secure on loopback), a new id each time", async () => {
    const first = await login("alice", "alice-password-1");
    expect(first.status, first.body).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({
      user: { username: "alice", role: "user", status: "active" },
    });
    const line = first.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    const attributes = line.split("; ").slice(1);
    expect(line).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43};`));
    expect(attributes).toEqual(expect.arrayContaining(["Path=/", "HttpOnly", "SameSite=Lax", "Secure"]));
    expect(attributes.some((a) => a.toLowerCase().startsWith("domain"))).toBe(false);
    expect(line).not.toContain("alice-password");

    const me = await call("GET", "/api/auth/me", { cookie: first.cookie });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.body) as MeWire).toMatchObject({ username: "alice", role: "user", via: "session" });

    // Logging in again (with the old cookie) gives a new id and ends the old session.
    const second = await login("alice", "alice-password-1", { Cookie: first.cookie! });
    expect(second.cookie).toBeDefined();
    expect(second.cookie).not.toBe(first.cookie);
    expect((await call("GET", "/api/auth/me", { cookie: first.cookie })).status).toBe(401);
    expect((await call("GET", "/api/auth/me", { cookie: second.cookie })).status).toBe(200);

    // Plain http to a name that is not loopback: no Secure (only TLS or loopback earn it).
    const remote = await rawRequest(`${platform.url}/api/auth/login`, {
      method: "POST",
      headers: { Host: "aixcl.example", "Content-Type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "alice-password-1" }),
    });
    expect(remote.status).toBe(200);
    const remoteCookie = ([] as string[]).concat(remote.headers["set-cookie"] ?? []).join("\n");
    expect(remoteCookie).toContain("HttpOnly");
    expect(remoteCookie).not.toContain("Secure");
  });

  it("logout ends the session server-side: the same cookie fails on the next request", async () => {
    const { cookie } = await login("alice", "alice-password-1");
    expect((await call("GET", "/api/tags", { cookie })).status).toBe(200);
    const out = await call("POST", "/api/auth/logout", { cookie });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(new RegExp(`${SESSION_COOKIE}=;.*Max-Age=0`));
    const me = await call("GET", "/api/auth/me", { cookie });
    expect(me.status).toBe(401);
    expect((await call("GET", "/api/admin/users", { cookie })).status).toBe(401);
    // Logging out twice, or without a session, is harmless.
    expect((await call("POST", "/api/auth/logout", { cookie })).status).toBe(204);
    expect((await call("POST", "/api/auth/logout")).status).toBe(204);
  });

  it("answers an unknown user, a wrong password and a malformed name identically", async () => {
    const answers = [
      await login("alice", "wrong-password-1"),
      await login("nobody-here", "wrong-password-1"),
      await login("'; DROP TABLE users; --", "wrong-password-1"),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.body).toBe(answers[0]!.body);
      expect(answer.cookie).toBeUndefined();
      expect(answer.headers.get("content-type")).toBe(answers[0]!.headers.get("content-type"));
      expect(answer.headers.get("www-authenticate")).toBe(answers[0]!.headers.get("www-authenticate"));
    }
    expect(JSON.parse(answers[0]!.body)).toEqual({ error: "invalid username or password" });
  });

  it("limits failed logins per account with 429 and Retry-After, even for the right password", async () => {
    await createUser(db(), { username: "target", password: "target-password", role: "user" });
    for (let i = 0; i < PER_ACCOUNT; i += 1)
      expect((await login("TARGET", `guess-${i}-xxxx`)).status).toBe(401);
    const limited = await login("target", "target-password");
    expect(limited.status).toBe(429);
    const retry = Number(limited.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(15 * 60);
    expect(limited.cookie).toBeUndefined();
    // Unknown accounts are limited the same way, and other accounts are not affected.
    for (let i = 0; i < PER_ACCOUNT; i += 1) await login("ghost", `guess-${i}-xxxx`);
    expect((await login("ghost", "anything-at-all")).status).toBe(429);
    expect((await login("alice", "alice-password-1")).status).toBe(200);
  });

  it("keeps sign-up closed by default; once opened, new accounts are pending until activated", async () => {
    const closed = await call("POST", "/api/auth/signup", {
      body: { username: "newbie", password: "newbie-password" },
    });
    expect(closed.status).toBe(403);
    expect(JSON.parse((await asAdmin("GET", "/api/admin/settings/signup")).body)).toEqual({ enabled: false });

    const root = await login("root", "root-password-1");
    const opened = await call("PUT", "/api/admin/settings/signup", {
      cookie: root.cookie,
      body: { enabled: true },
    });
    expect(opened.status, opened.body).toBe(200);
    const signup = await call("POST", "/api/auth/signup", {
      body: { username: "newbie", password: "newbie-password" },
    });
    expect(signup.status, signup.body).toBe(201);
    expect(JSON.parse(signup.body)).toMatchObject({
      user: { username: "newbie", role: "user", status: "pending" },
    });
    expect(signup.cookie).toBeUndefined();
    // Names stay unique, whatever the case.
    expect(
      (await call("POST", "/api/auth/signup", { body: { username: "NEWBIE", password: "other-password" } }))
        .status,
    ).toBe(409);

    const pending = await login("newbie", "newbie-password");
    expect(pending.status).toBe(403);
    expect(JSON.parse(pending.body)).toEqual({ error: expect.stringContaining("approval") as unknown });
    expect(pending.cookie).toBeUndefined();
    // A wrong password for a pending account says nothing about it.
    expect((await login("newbie", "wrong-password-9")).status).toBe(401);

    const activated = await call("POST", "/api/admin/users/newbie/activate", { cookie: root.cookie });
    expect(activated.status).toBe(200);
    expect((await login("newbie", "newbie-password")).status).toBe(200);
    await call("PUT", "/api/admin/settings/signup", { cookie: root.cookie, body: { enabled: false } });
    expect(
      (await call("POST", "/api/auth/signup", { body: { username: "late", password: "late-password" } }))
        .status,
    ).toBe(403);
  });

  it("admits only admins to /api/admin: 401 without credentials, 403 for a user", async () => {
    expect((await call("GET", "/api/admin/users")).status).toBe(401);
    const alice = await login("alice", "alice-password-1");
    expect((await call("GET", "/api/admin/users", { cookie: alice.cookie })).status).toBe(403);
    expect((await call("GET", "/API//admin/users", { cookie: alice.cookie })).status).toBe(403);
    expect(
      (await call("GET", "/api/admin/users", { headers: { Authorization: "Bearer wrong-token" } })).status,
    ).toBe(401);
    const root = await login("root", "root-password-1");
    const listed = await call("GET", "/api/admin/users", { cookie: root.cookie });
    expect(listed.status).toBe(200);
    const { users } = JSON.parse(listed.body) as { users: UserWire[] };
    expect(users.map((u) => u.username)).toEqual(expect.arrayContaining(["alice", "root"]));
    expect(listed.body).not.toContain("argon2");
    expect((await asAdmin("GET", "/api/admin/users")).status).toBe(200);
  });

  it("manages users through the admin API; a role change or deletion ends that user's session at once", async () => {
    const created = await asAdmin("POST", "/api/admin/users", {
      username: "bob",
      password: "bob-password-1",
      role: "admin",
    });
    expect(created.status, created.body).toBe(201);
    expect(
      (await asAdmin("POST", "/api/admin/users", { username: "BOB", password: "x-password-1" })).status,
    ).toBe(409);
    expect(
      (await asAdmin("POST", "/api/admin/users", { username: "bad name", password: "x-password-1" })).status,
    ).toBe(400);
    expect((await asAdmin("POST", "/api/admin/users", { username: "weak", password: "short" })).status).toBe(
      400,
    );

    let bob = await login("bob", "bob-password-1");
    expect((await call("GET", "/api/admin/users", { cookie: bob.cookie })).status).toBe(200);
    const demoted = await asAdmin("PUT", "/api/admin/users/bob/role", { role: "user" });
    expect(demoted.status, demoted.body).toBe(200);
    expect(JSON.parse(demoted.body)).toMatchObject({ user: { role: "user" } });
    // The very next request with the old cookie is anonymous: 401, not 403.
    expect((await call("GET", "/api/admin/users", { cookie: bob.cookie })).status).toBe(401);
    expect((await call("GET", "/api/auth/me", { cookie: bob.cookie })).status).toBe(401);

    bob = await login("bob", "bob-password-1");
    const changed = await asAdmin("PUT", "/api/admin/users/bob/password", { password: "bob-password-2" });
    expect(changed.status).toBe(204);
    expect((await call("GET", "/api/auth/me", { cookie: bob.cookie })).status).toBe(401);
    expect((await login("bob", "bob-password-1")).status).toBe(401);
    bob = await login("bob", "bob-password-2");
    expect(bob.status).toBe(200);

    expect((await asAdmin("DELETE", "/api/admin/users/bob")).status).toBe(204);
    expect((await call("GET", "/api/auth/me", { cookie: bob.cookie })).status).toBe(401);
    expect((await asAdmin("DELETE", "/api/admin/users/bob")).status).toBe(404);
    expect((await login("bob", "bob-password-2")).status).toBe(401);
  });

  it("stores SQL payloads in names, passwords, User-Agent and X-Forwarded-For as text, tables intact", async () => {
    for (const payload of INJECTIONS) {
      const answer = await login(payload, payload, { "User-Agent": payload, "X-Forwarded-For": payload });
      expect(answer.status).toBe(401);
      expect(
        (await asAdmin("POST", "/api/admin/users", { username: payload, password: "good-password" })).status,
      ).toBe(400);
    }
    const agent = INJECTIONS[0]!;
    const ok = await login("alice", "alice-password-1", {
      "User-Agent": agent,
      "X-Forwarded-For": INJECTIONS[1]!,
    });
    expect(ok.status).toBe(200);
    const sessions = await db().query<{ user_agent: string; address: string }>(
      "SELECT user_agent, address FROM sessions WHERE user_agent = $1",
      [agent],
    );
    expect(sessions.rows.length).toBe(1);
    // The peer address, never the client's claim.
    expect(sessions.rows[0]?.address).not.toBe(INJECTIONS[1]);

    const failures = (await listAudit(db(), { limit: 1000, action: "login.failure" })).map((e) => ({
      target: e.target,
      details: e.details as Record<string, unknown>,
    }));
    for (const payload of INJECTIONS) {
      expect(failures).toContainEqual({
        target: payload,
        details: { user_agent: payload, forwarded_for: payload },
      });
    }
    const tables = await db().query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('users','sessions','audit_log','api_keys')",
    );
    expect(tables.rows[0]?.n).toBe(4);
    expect((await db().query("SELECT 1 FROM users WHERE username = 'root'")).rows.length).toBe(1);
    // Never the password in the audit log.
    expect(JSON.stringify(await db().query("SELECT * FROM audit_log"))).not.toContain("alice-password-1");
  });
});

describeEachDatabase("login rate limit per address", (db) => {
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({
      database: db(),
      flags: {
        "auth.login_attempts_per_account": 100,
        "auth.login_attempts_per_address": 4,
        "auth.login_window": "1m",
      },
    });
    await createUser(db(), { username: "alice", password: "alice-password-1", role: "user" });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("refuses an address spraying many accounts with 429 and Retry-After, whatever account it tries next", async () => {
    const login = (username: string, password: string) =>
      fetch(`${platform.url}/api/auth/login`, {
        method: "POST",
        body: JSON.stringify({ username, password }),
      });
    for (let i = 0; i < 4; i += 1) expect((await login(`user${i}`, "wrong-password")).status).toBe(401);
    const limited = await login("alice", "alice-password-1");
    expect(limited.status).toBe(429);
    const retry = Number(limited.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(await limited.json()).toEqual({ error: expect.stringContaining("too many") as unknown });
  });
});
