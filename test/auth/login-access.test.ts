/**
 * Who may reach what, over real HTTP: the local CLI token (a 0600 file written at start, removed
 * at close, acting as an admin), and with `auth.api: required` and no static key (profile sys: a
 * database, so sessions and keys authenticate) the API families accept a session cookie — with
 * the published ollama client too — and refuse everything else, a key in the URL included.
 */
import { stat } from "node:fs/promises";
import { dirname } from "node:path";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLocalToken } from "../../src/auth/local-token.js";
import { createUser } from "../../src/auth/users.js";
import { localTokenPath } from "../../src/config/load.js";
import { loginCookie } from "../support/auth-http.js";
import { describeEachDatabase, openTestDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";

describe("the local CLI token", () => {
  it("is 32 random bytes in a 0600 file under a 0700 run dir, admits an admin, and goes at close", async () => {
    const db = await openTestDatabase("pglite");
    try {
      const first = await startTestPlatform({ database: db, flags: { "auth.api": "required" } });
      const path = localTokenPath(first.config);
      let token: string | undefined;
      try {
        token = await readLocalToken(path);
        expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect((await stat(path)).mode & 0o777).toBe(0o600);
        expect((await stat(dirname(path))).mode & 0o777).toBe(0o700);

        const get = (path: string, headers: Record<string, string> = {}) =>
          fetch(`${first.url}${path}`, { headers }).then((r) => r.status);
        expect(await get("/api/admin/users", { Authorization: `Bearer ${token}` })).toBe(200);
        expect(await get("/api/admin/users", { "x-api-key": token! })).toBe(200);
        expect(await get("/api/tags", { Authorization: `Bearer ${token}` })).toBe(200);
        expect(await get("/api/admin/users")).toBe(401);
        expect(await get("/api/admin/users", { Authorization: `Bearer ${token}x` })).toBe(401);
        expect(await get(`/api/admin/users?token=${token}`, { Authorization: `Bearer ${token}` })).toBe(401);
        const me = await fetch(`${first.url}/api/auth/me`, { headers: { Authorization: `Bearer ${token}` } });
        expect(await me.json()).toMatchObject({ role: "admin", via: "local_token", username: null });
      } finally {
        await first.close();
      }
      // Gone with the server: a stale token never lingers for the next one.
      expect(await readLocalToken(path)).toBeUndefined();

      const second = await startTestPlatform({ database: db });
      try {
        const next = await readLocalToken(localTokenPath(second.config));
        expect(next).toBeDefined();
        expect(next).not.toBe(token);
      } finally {
        await second.close();
      }
    } finally {
      await db.close();
    }
  });
});

describeEachDatabase("auth.api required, sessions only", (db) => {
  let platform: TestPlatform;

  const login = () => loginCookie(platform.url, "alice", "alice-password-1");
  const status = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${platform.url}${path}`, { headers }).then((r) => r.status);

  beforeAll(async () => {
    // No auth.api_key: with a database that is valid (sessions and API keys authenticate).
    platform = await startTestPlatform({ database: db(), flags: { "auth.api": "required" } });
    expect(platform.config.auth.api_key).toBeUndefined();
    await createUser(db(), { username: "alice", password: "alice-password-1", role: "user" });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("refuses anonymous API calls but lets anyone log in", async () => {
    for (const path of ["/api/tags", "/v1/models", "/metrics", "/api/version"])
      expect(await status(path)).toBe(401);
    expect(await status("/api/auth/me")).toBe(401);
    const v1 = await fetch(`${platform.url}/v1/models`);
    expect(await v1.json()).toMatchObject({ error: { type: "authentication_error" } });
    await login();
  });

  it("accepts a session cookie on both API families and the ollama client, until logout", async () => {
    const cookie = await login();
    for (const path of ["/api/tags", "/v1/models", "/metrics"])
      expect(await status(path, { Cookie: cookie })).toBe(200);
    const client = new Ollama({ host: platform.url, headers: { Cookie: cookie } });
    expect(await client.list()).toEqual({ models: [] });
    // A key in the URL is refused even alongside a good session.
    expect(await status("/api/tags?api_key=whatever", { Cookie: cookie })).toBe(401);
    // A user is not an admin.
    expect(await status("/api/admin/users", { Cookie: cookie })).toBe(403);

    await fetch(`${platform.url}/api/auth/logout`, { method: "POST", headers: { Cookie: cookie } });
    expect(await status("/api/tags", { Cookie: cookie })).toBe(401);
    await expect(client.list()).rejects.toMatchObject({ status_code: 401 });
  });

  it("refuses a forged or malformed cookie and a wrong bearer even next to a good cookie", async () => {
    const cookie = await login();
    expect(await status("/api/tags", { Cookie: "__Host-aixcl_session=" + "A".repeat(43) })).toBe(401);
    expect(await status("/api/tags", { Cookie: "__Host-aixcl_session=' OR 1=1 --" })).toBe(401);
    // An explicit credential decides: a wrong key is not rescued by the cookie.
    expect(await status("/api/tags", { Cookie: cookie, Authorization: "Bearer not-a-key-at-all" })).toBe(401);
    expect(await status("/api/tags", { Cookie: cookie })).toBe(200);
  });
});
