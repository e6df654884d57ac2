/**
 * Who reaches the admin API, over real HTTP on one platform (profile sys, `auth.api: required`):
 * every route under /api/admin — read from the app's own route table, so a new one is covered
 * without touching this file — answers a user's session 403 and an anonymous caller 401; the
 * load balancers' `GET /api/health` answers anyone; logins set `last_login_at`; disabling a user
 * ends their session.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserWire } from "../../src/api/users-client.js";
import { createUser } from "../../src/auth/users.js";
import {
  bearer,
  jsonFetch,
  localAdminToken,
  loginCookie,
  meStatus,
  postLogin,
} from "../support/auth-http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";

let platform: TestPlatform;
let admin: Record<string, string>;

beforeAll(async () => {
  platform = await startTestPlatform({ flags: { "auth.api": "required" } });
  admin = bearer(await localAdminToken(platform.config));
  const db = platform.deps.db!;
  await createUser(db, { username: "alice", password: "alice-password-1", role: "user" });
  await createUser(db, { username: "bob", password: "bob-password-12", role: "user" });
});
afterAll(async () => {
  await platform?.close();
});

/** Every method + path the app routes under /api/admin, parameters filled with dummy values. */
function adminRoutes(): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const route of platform.app.routes) {
    if (route.method === "ALL" || !route.path.startsWith("/api/admin")) continue;
    const path = route.path.replace(/:[A-Za-z_]+(\{[^}]*\})?/g, "dummy");
    seen.set(`${route.method} ${path}`, { method: route.method, path });
  }
  return [...seen.values()];
}

describe("the admin API's access rule", () => {
  it("answers a user's session 403 and anonymous callers 401 on every admin route", async () => {
    const routes = adminRoutes();
    // The table is read, not listed here: it holds at least the console's routes.
    for (const expected of ["GET /api/admin/health", "GET /api/admin/metrics/series", "GET /api/admin/logs"])
      expect(routes.map((r) => `${r.method} ${r.path}`)).toContain(expected);
    expect(routes.length).toBeGreaterThan(15);
    const cookie = await loginCookie(platform.url, "alice", "alice-password-1");
    for (const { method, path } of routes) {
      const asUser = await jsonFetch(platform.url, method, path, method === "GET" ? undefined : {}, {
        Cookie: cookie,
      });
      expect([method, path, asUser.status]).toEqual([method, path, 403]);
      expect(await asUser.json()).toEqual({ error: "forbidden: admin rights required" });
      // Ollama's error body has no code: the header names it (the web app reads it).
      expect(asUser.headers.get("x-aixcl-error-code")).toBe("forbidden");
      const anonymous = await jsonFetch(platform.url, method, path, method === "GET" ? undefined : {});
      expect([method, path, anonymous.status]).toEqual([method, path, 401]);
      expect(anonymous.headers.get("x-aixcl-error-code")).toBe("unauthorized");
      await anonymous.arrayBuffer();
    }
  });

  it("lets anyone read GET /api/health, which says ok and nothing else", async () => {
    for (const headers of [{}, bearer("aixcl_not_a_key"), admin]) {
      const response = await fetch(`${platform.url}/api/health`, { headers });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: "ok" });
    }
    // The rest of the API still needs a credential.
    expect((await fetch(`${platform.url}/api/tags`)).status).toBe(401);
  });
});

describe("users in the admin console", () => {
  const users = async () => {
    const response = await jsonFetch(platform.url, "GET", "/api/admin/users", undefined, admin);
    return ((await response.json()) as { users: UserWire[] }).users;
  };

  it("records the last login", async () => {
    expect((await users()).find((u) => u.username === "bob")?.last_login_at).toBeNull();
    const before = Date.now();
    const login = await jsonFetch(platform.url, "POST", "/api/auth/login", {
      username: "bob",
      password: "bob-password-12",
    });
    const { user } = (await login.json()) as { user: UserWire };
    expect(Date.parse(user.last_login_at!)).toBeGreaterThanOrEqual(before - 1000);
    expect((await users()).find((u) => u.username === "bob")?.last_login_at).toBe(user.last_login_at);
  });

  it("disables a user: their session ends, they cannot log in, the change is audited", async () => {
    const cookie = await loginCookie(platform.url, "bob", "bob-password-12");
    expect(await meStatus(platform.url, cookie)).toBe(200);
    const response = await jsonFetch(platform.url, "POST", "/api/admin/users/bob/disable", undefined, admin);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { user: UserWire }).user.status).toBe("disabled");
    expect(await meStatus(platform.url, cookie)).toBe(401);
    expect((await postLogin(platform.url, "bob", "bob-password-12")).status).toBe(401);
    const audit = await jsonFetch(
      platform.url,
      "GET",
      "/api/admin/audit?action=user.status",
      undefined,
      admin,
    );
    const { entries } = (await audit.json()) as { entries: { target: string; details: unknown }[] };
    expect(entries[0]).toMatchObject({ target: "bob", details: { from: "active", to: "disabled" } });
    // Activate enables them again.
    const activate = await jsonFetch(platform.url, "POST", "/api/admin/users/bob/activate", undefined, admin);
    expect(activate.status).toBe(200);
    expect((await postLogin(platform.url, "bob", "bob-password-12")).status).toBe(200);
  });

  it("refuses to disable the last active admin or an unknown user", async () => {
    const admins = (await users()).filter((u) => u.role === "admin");
    expect(admins).toHaveLength(1);
    const last = await jsonFetch(
      platform.url,
      "POST",
      `/api/admin/users/${admins[0]!.username}/disable`,
      undefined,
      admin,
    );
    expect(last.status).toBe(409);
    await last.arrayBuffer();
    const unknown = await jsonFetch(
      platform.url,
      "POST",
      "/api/admin/users/nobody/disable",
      undefined,
      admin,
    );
    expect(unknown.status).toBe(404);
    await unknown.arrayBuffer();
  });
});
