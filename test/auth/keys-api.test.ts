/**
 * API keys end to end on a real platform (HTTP on port 0, PGlite, llama.cpp on scripted models)
 * with `auth.api: required`: the admin API mints and revokes keys, the published ollama and
 * openai clients use them on both API families, scopes gate model changes and the admin API,
 * and a revoke stops the next request and cuts an open stream.
 */
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyWire, CreatedKeyWire } from "../../src/api/keys-client.js";
import { createUser, removeUser } from "../../src/auth/users.js";
import { requiredScope } from "../../src/server/middleware/scopes.js";
import type { Database } from "../../src/store/types.js";
import { bearer, jsonFetch, localAdminToken, loginCookie } from "../support/auth-http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { helloModel, LONG_SCRIPT, longModel } from "../support/scripted-models.js";
import { ndjsonRecords, openStreamBody } from "../support/streams.js";

const PAYLOADS = [
  "'; DROP TABLE api_keys; --",
  '" OR 1=1 --',
  "x' OR '1'='1",
  "$1::text",
  "\\'; DELETE FROM users; --",
  "aixcl_'--_' OR 1=1",
];

describe("requiredScope", () => {
  it("maps model changes to models:write, the admin API to admin, other API routes to inference", () => {
    const cases: [string, string, string | undefined][] = [
      ["POST", "/api/pull", "models:write"],
      ["POST", "/api/push", "models:write"],
      ["POST", "/api/create", "models:write"],
      ["POST", "/api/copy", "models:write"],
      ["DELETE", "/api/delete", "models:write"],
      ["POST", "/api/blobs/sha256:abc", "models:write"],
      ["HEAD", "/api/blobs/sha256:abc", "inference"],
      ["POST", "//API/Pull/", "models:write"],
      ["GET", "/api/admin", "admin"],
      ["DELETE", "/api/admin/keys/x", "admin"],
      ["GET", "/API//admin/users", "admin"],
      ["POST", "/api/chat", "inference"],
      ["POST", "/api/generate", "inference"],
      ["GET", "/api/tags", "inference"],
      ["POST", "/v1/chat/completions", "inference"],
      ["GET", "/v1/models", "inference"],
      ["POST", "/api/auth/login", undefined],
      ["GET", "/metrics", undefined],
      ["GET", "/", undefined],
    ];
    for (const [method, path, scope] of cases)
      expect(requiredScope(method, path), `${method} ${path}`).toBe(scope);
  });
});

describe("API keys over HTTP", () => {
  let platform: TestPlatform;
  let db: Database;
  let token: string;

  /** A request with the local admin token (what `aixcl keys` sends). */
  const asAdmin = (method: string, path: string, body?: unknown): Promise<Response> =>
    jsonFetch(platform.url, method, path, body, bearer(token));

  const mint = async (body: Record<string, unknown>): Promise<CreatedKeyWire> => {
    const response = await asAdmin("POST", "/api/admin/keys", body);
    expect(response.status, await response.clone().text()).toBe(201);
    return (await response.json()) as CreatedKeyWire;
  };

  const withKey = (key: string, method: string, path: string, body?: unknown, header = "bearer") =>
    jsonFetch(platform.url, method, path, body, header === "bearer" ? bearer(key) : { "x-api-key": key });

  beforeAll(async () => {
    platform = await startTestPlatform({
      flags: { "auth.api": "required", "engine.threads": 1 },
      models: [
        { name: "hello", gguf: await helloModel() },
        { name: "long", gguf: await longModel() },
      ],
    });
    db = platform.deps.db!;
    token = await localAdminToken(platform.config);
    await createUser(db, { username: "alice", password: "alice-password-1", role: "user" });
    await createUser(db, { username: "root", password: "root-password-12", role: "admin" });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("creates a key shown once; listings show its prefix, never the key", async () => {
    const created = await mint({ name: "laptop", user: "alice" });
    expect(created.key).toMatch(/^aixcl_[0-9A-Za-z]{8}_[0-9A-Za-z]{43}$/);
    expect(created).toMatchObject({ name: "laptop", user: "alice", scopes: ["inference"], status: "active" });
    expect(created.key.slice(6, 14)).toBe(created.prefix);

    const listing = await asAdmin("GET", "/api/admin/keys");
    expect(listing.status).toBe(200);
    const text = await listing.text();
    expect(text).toContain(created.prefix);
    expect(text).not.toContain(created.key.slice(15));
    const { keys } = JSON.parse(text) as { keys: ApiKeyWire[] };
    expect(keys.find((k) => k.id === created.id)).not.toHaveProperty("key");

    const alices = (await (await asAdmin("GET", "/api/admin/keys?user=alice")).json()) as {
      keys: ApiKeyWire[];
    };
    expect(alices.keys.length).toBeGreaterThan(0);
    expect(alices.keys.every((k) => k.user === "alice")).toBe(true);
  });

  it("works with the ollama and openai clients on both API families, as Bearer and as x-api-key", async () => {
    const { key } = await mint({ name: "clients", user: "alice" });
    const messages = [{ role: "user", content: "hi" }];

    const bearer = new Ollama({ host: platform.url, headers: { Authorization: `Bearer ${key}` } });
    expect((await bearer.chat({ model: "hello", messages })).message.content).toBe("Hello world!");
    const xApiKey = new Ollama({ host: platform.url, headers: { "x-api-key": key } });
    expect((await xApiKey.list()).models.map((m) => m.name)).toContain("hello:latest");
    expect((await xApiKey.generate({ model: "hello", prompt: "hi" })).response).toBe("Hello world!");

    const openai = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: key, maxRetries: 0 });
    const completion = await openai.chat.completions.create({
      model: "hello",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(completion.choices[0]?.message.content).toBe("Hello world!");
    // The OpenAI SDK always sends its apiKey as Bearer: x-api-key on /v1 goes through fetch.
    const viaHeader = await withKey(
      key,
      "POST",
      "/v1/chat/completions",
      { model: "hello", messages },
      "x-api-key",
    );
    expect(viaHeader.status).toBe(200);
    expect(((await viaHeader.json()) as OpenAI.ChatCompletion).choices[0]?.message.content).toBe(
      "Hello world!",
    );

    // Without the key both families answer 401.
    const anonymous = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: "not-a-key", maxRetries: 0 });
    await expect(anonymous.models.list()).rejects.toMatchObject({ status: 401 });
    expect((await fetch(`${platform.url}/api/tags`)).status).toBe(401);
  });

  it("refuses the key in the URL, even a valid one", async () => {
    const { key } = await mint({ name: "url", user: "alice" });
    for (const path of ["/api/tags", "/v1/models"]) {
      expect((await fetch(`${platform.url}${path}?api_key=${key}`)).status).toBe(401);
      // Even alongside a valid header: the key has already leaked into logs and history.
      expect((await withKey(key, "GET", `${path}?api_key=${key}`)).status).toBe(401);
      expect((await withKey(key, "GET", path)).status).toBe(200);
    }
  });

  it("scopes: inference keys cannot change models or use the admin API; models:write can", async () => {
    const inference = (await mint({ name: "inference", user: "alice" })).key;
    const writer = (await mint({ name: "writer", user: "alice", scopes: ["models:write"] })).key;
    const both = (await mint({ name: "both", user: "alice", scopes: ["inference", "models:write"] })).key;

    const denied: [string, string, unknown][] = [
      ["POST", "/api/pull", { model: "library/nothing" }],
      ["POST", "/api/%70ull", { model: "library/nothing" }],
      ["POST", "/api/create", { model: "made", from: "hello" }],
      ["POST", "/api/copy", { source: "hello", destination: "copied" }],
      ["DELETE", "/api/delete", { model: "hello" }],
      ["POST", `/api/blobs/sha256:${"0".repeat(64)}`, undefined],
      ["GET", "/api/admin/keys", undefined],
      ["POST", "/api/admin/keys", { name: "escalate", scopes: ["admin"] }],
    ];
    for (const [method, path, body] of denied) {
      const response = await withKey(inference, method, path, body);
      expect(response.status, `${method} ${path}`).toBe(403);
    }
    // The openai client meets the same wall on the admin API… and none on inference.
    const ollama = new Ollama({ host: platform.url, headers: { Authorization: `Bearer ${inference}` } });
    await expect(ollama.delete({ model: "hello" })).rejects.toMatchObject({ status_code: 403 });
    expect((await ollama.list()).models.length).toBe(2);

    // models:write changes models; without inference it cannot chat.
    expect(
      (await withKey(writer, "POST", "/api/copy", { source: "hello", destination: "copied" })).status,
    ).toBe(200);
    expect(
      (await withKey(writer, "POST", "/api/create", { model: "made", from: "hello", stream: false })).status,
    ).toBe(200);
    expect((await withKey(writer, "DELETE", "/api/delete", { model: "copied" })).status).toBe(200);
    expect((await withKey(writer, "GET", "/api/admin/keys")).status).toBe(403);
    expect((await withKey(writer, "POST", "/api/chat", { model: "hello", messages: [] })).status).toBe(403);
    expect((await withKey(both, "DELETE", "/api/delete", { model: "made" })).status).toBe(200);
    expect(
      (await withKey(both, "POST", "/api/generate", { model: "hello", prompt: "x", stream: false })).status,
    ).toBe(200);

    // An admin-scoped key of an admin reaches the admin API; a user cannot be given one.
    const adminKey = (await mint({ name: "ops", user: "root", scopes: ["admin"] })).key;
    expect((await withKey(adminKey, "GET", "/api/admin/keys")).status).toBe(200);
    expect(
      (await withKey(adminKey, "POST", "/api/copy", { source: "hello", destination: "c2" })).status,
    ).toBe(200);
    expect((await withKey(adminKey, "DELETE", "/api/delete", { model: "c2" })).status).toBe(200);
    const refused = await asAdmin("POST", "/api/admin/keys", { name: "x", user: "alice", scopes: ["admin"] });
    expect(refused.status).toBe(400);
  });

  it("a revoke stops the key on the next request, by id or by prefix", async () => {
    for (const ref of ["id", "prefix"] as const) {
      const created = await mint({ name: `revoke-${ref}`, user: "alice" });
      expect((await withKey(created.key, "GET", "/api/tags")).status).toBe(200);
      const revoked = await asAdmin("DELETE", `/api/admin/keys/${created[ref]}`);
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toMatchObject({ id: created.id, status: "revoked" });
      expect((await withKey(created.key, "GET", "/api/tags")).status).toBe(401);
      expect((await withKey(created.key, "GET", "/v1/models", undefined, "x-api-key")).status).toBe(401);
    }
    expect((await asAdmin("DELETE", "/api/admin/keys/00000000-0000-4000-8000-000000000000")).status).toBe(
      404,
    );
    expect((await asAdmin("DELETE", "/api/admin/keys/nope")).status).toBe(404);
  });

  it("a revoke cuts an open stream that uses the key", async () => {
    const created = await mint({ name: "streaming", user: "alice" });
    const response = await withKey(created.key, "POST", "/api/chat", {
      model: "long",
      messages: [{ role: "user", content: "go" }],
    });
    expect(response.status).toBe(200);
    const stream = await openStreamBody(response);
    // Under load the first line may carry a few tokens at once: it starts with the first.
    const first = JSON.parse(stream.head.split("\n")[0]!) as { message: { content: string } };
    expect(first.message.content.startsWith(LONG_SCRIPT[0]!)).toBe(true);

    expect((await asAdmin("DELETE", `/api/admin/keys/${created.id}`)).status).toBe(200);
    const { text, cut } = await stream.finish();
    const lines = ndjsonRecords<{ done?: boolean }>(text);
    // Never finished: no final record, and far fewer pieces than the script has.
    expect(lines.some((line) => line.done === true)).toBe(false);
    expect(cut || lines.length < LONG_SCRIPT.length).toBe(true);
    await expect.poll(() => platform.deps.engine.stats().activeRequests, { timeout: 30_000 }).toBe(0);
  });

  it("expired keys and keys of deleted users answer 401", async () => {
    const expiring = await mint({
      name: "soon",
      user: "alice",
      expires_at: new Date(Date.now() + 3_600_000).toISOString(),
    });
    expect(expiring.expires_at).not.toBeNull();
    expect((await withKey(expiring.key, "GET", "/api/tags")).status).toBe(200);
    await db.query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [
      expiring.id,
    ]);
    expect((await withKey(expiring.key, "GET", "/api/tags")).status).toBe(401);
    const listed = (await (await asAdmin("GET", "/api/admin/keys")).json()) as { keys: ApiKeyWire[] };
    expect(listed.keys.find((k) => k.id === expiring.id)?.status).toBe("expired");

    await createUser(db, { username: "bob", password: "bob-password-123", role: "user" });
    const bobs = await mint({ name: "bob's", user: "bob" });
    expect((await withKey(bobs.key, "GET", "/api/tags")).status).toBe(200);
    await removeUser(db, "bob");
    expect((await withKey(bobs.key, "GET", "/api/tags")).status).toBe(401);
  });

  it("a signed-in user manages their own keys at /api/auth/keys, never others', never with a key", async () => {
    const cookie = await loginCookie(platform.url, "alice", "alice-password-1");
    const asAlice = (method: string, path: string, body?: unknown) =>
      jsonFetch(platform.url, method, path, body, { Cookie: cookie });

    const response = await asAlice("POST", "/api/auth/keys", { name: "mine" });
    expect(response.status).toBe(201);
    const own = (await response.json()) as CreatedKeyWire;
    expect(own).toMatchObject({ user: "alice", scopes: ["inference"] });
    expect((await withKey(own.key, "GET", "/api/tags")).status).toBe(200);

    // A session of a plain user grants only what the user has; it names no other owner.
    expect((await asAlice("POST", "/api/auth/keys", { name: "more", scopes: ["models:write"] })).status).toBe(
      403,
    );
    expect((await asAlice("POST", "/api/auth/keys", { name: "theirs", user: "root" })).status).toBe(400);

    const listed = (await (await asAlice("GET", "/api/auth/keys")).json()) as { keys: ApiKeyWire[] };
    expect(listed.keys.length).toBeGreaterThan(1);
    expect(listed.keys.every((k) => k.user === "alice")).toBe(true);

    // Another user's key is not found, by id or by prefix; it keeps working.
    const roots = await mint({ name: "root's", user: "root" });
    for (const ref of [roots.id, roots.prefix]) {
      expect((await asAlice("DELETE", `/api/auth/keys/${ref}`)).status).toBe(404);
    }
    expect((await withKey(roots.key, "GET", "/api/tags")).status).toBe(200);

    // An API key cannot mint or revoke keys (a leaked key must not outlive its revoke).
    expect((await withKey(own.key, "POST", "/api/auth/keys", { name: "child" })).status).toBe(403);
    expect((await withKey(own.key, "GET", "/api/auth/keys")).status).toBe(403);
    expect((await fetch(`${platform.url}/api/auth/keys`)).status).toBe(401);

    expect((await asAlice("DELETE", `/api/auth/keys/${own.prefix}`)).status).toBe(200);
    expect((await withKey(own.key, "GET", "/api/tags")).status).toBe(401);
  });

  it("refuses bad creation requests with 400/404", async () => {
    const cases: [Record<string, unknown>, number][] = [
      [{ user: "alice" }, 400],
      [{ name: "", user: "alice" }, 400],
      [{ name: "x", user: "alice", scopes: ["root"] }, 400],
      [{ name: "x", user: "alice", expires_at: "2001-01-01T00:00:00Z" }, 400],
      [{ name: "x", user: "alice", expires_at: "tomorrow" }, 400],
      [{ name: "x", user: "nobody" }, 404],
      [{ name: "x", user: "alice", extra: true }, 400],
    ];
    for (const [body, status] of cases) {
      expect((await asAdmin("POST", "/api/admin/keys", body)).status, JSON.stringify(body)).toBe(status);
    }
  });

  it("stores injection payloads in names as text and refuses them in headers, tables intact", async () => {
    const tables = async () =>
      (
        await db.query<{ n: string }>(
          "SELECT tablename AS n FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
        )
      ).rows;
    const before = await tables();
    for (const payload of PAYLOADS) {
      const created = await mint({ name: payload, user: "alice" });
      expect(created.name).toBe(payload);
      const user = await asAdmin("POST", "/api/admin/keys", { name: "x", user: payload });
      expect([400, 404]).toContain(user.status);
      expect((await asAdmin("GET", `/api/admin/keys?user=${encodeURIComponent(payload)}`)).status).toBe(404);
      expect((await asAdmin("DELETE", `/api/admin/keys/${encodeURIComponent(payload)}`)).status).toBe(404);
      for (const header of ["bearer", "x-api-key"]) {
        expect((await withKey(payload.replace(/ /g, ""), "GET", "/api/tags", undefined, header)).status).toBe(
          401,
        );
        expect(
          (await withKey(`aixcl_${payload.replace(/ /g, "")}`, "GET", "/v1/models", undefined, header))
            .status,
        ).toBe(401);
      }
    }
    const names = (
      (await (await asAdmin("GET", "/api/admin/keys")).json()) as { keys: ApiKeyWire[] }
    ).keys.map((k) => k.name);
    for (const payload of PAYLOADS) expect(names).toContain(payload);
    expect(await tables()).toEqual(before);
    const counted = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM users");
    expect(counted.rows[0]!.n).toBeGreaterThanOrEqual(2);
  });
});
