/**
 * The platform's database stopping under it, seen from outside: authenticated requests (their key
 * is checked in the database) answer 503 `database_error` with Retry-After in each family's shape,
 * never 500, and the first request after the database is back succeeds without a restart. On a
 * PostgreSQL server of this file's own that is really shut down and started again, and on PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { createUser } from "../../src/auth/users.js";
import type { Database } from "../../src/store/types.js";
import { openTestDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { startPostgres, type PostgresServer } from "../support/postgres.js";

async function issueKey(db: Database): Promise<string> {
  const user = await createUser(db, { username: "carol", password: "carol-password-1234", role: "user" });
  return (await createApiKey(db, { userId: user.id, name: "outage", scopes: ["inference"] })).key;
}

function get(platform: TestPlatform, path: string, key: string): Promise<Response> {
  return fetch(`${platform.url}${path}`, { headers: { Authorization: `Bearer ${key}` } });
}

/** Both families answer 503 database_error with Retry-After, in their own shapes. */
async function expectUnavailable(platform: TestPlatform, key: string): Promise<void> {
  const ollama = await get(platform, "/api/tags", key);
  expect(ollama.status).toBe(503);
  expect(Number(ollama.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(await ollama.json()).toEqual({ error: "database unavailable; retry later" });
  const openai = await get(platform, "/v1/models", key);
  expect(openai.status).toBe(503);
  expect(Number(openai.headers.get("retry-after"))).toBeGreaterThan(0);
  expect(await openai.json()).toEqual({
    error: {
      message: "database unavailable; retry later",
      type: "server_error",
      param: null,
      code: "database_error",
    },
  });
}

describe("an external PostgreSQL server stopped and started again", () => {
  let server: PostgresServer;
  let platform: TestPlatform;
  let key: string;
  beforeAll(async () => {
    server = await startPostgres();
    const url = `postgres://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/postgres`;
    platform = await startTestPlatform({ flags: { "database.url": url, "auth.api": "required" } });
    key = await issueKey(platform.deps.db!);
  });
  afterAll(async () => {
    await platform?.close();
    await server?.stop();
  });

  it("answers 503 + Retry-After while it is down and serves the next request once it is back", async () => {
    expect((await get(platform, "/api/tags", key)).status).toBe(200);
    // Fast shutdown: the pool's open sessions get 57P01, then every connection is refused.
    await server.halt();
    await expectUnavailable(platform, key);
    await expectUnavailable(platform, key);
    await server.resume();
    const back = await get(platform, "/api/tags", key);
    expect(back.status).toBe(200);
    expect((await get(platform, "/v1/models", key)).status).toBe(200);
  });
});

describe("PGlite closed under the platform", () => {
  let db: Database;
  let platform: TestPlatform;
  let key: string;
  beforeAll(async () => {
    db = await openTestDatabase("pglite");
    key = await issueKey(db);
    platform = await startTestPlatform({ database: db, flags: { "auth.api": "required" } });
  });
  afterAll(async () => {
    await platform?.close();
  });

  it("answers 503 + Retry-After, not 500", async () => {
    expect((await get(platform, "/api/tags", key)).status).toBe(200);
    await db.close();
    await expectUnavailable(platform, key);
  });
});
