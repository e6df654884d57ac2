/**
 * Open streams end with their session, on both engines: a streaming /api/chat made with a session
 * cookie (real HTTP, llama.cpp on a long scripted model) is cut mid-stream when that session logs
 * out, when the user's role changes or the user is deleted through the admin API, and when all
 * sessions are revoked — and the generation behind it stops. Other sessions' streams go on.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createUser, revokeAllSessions } from "../../src/auth/users.js";
import { bearer, jsonFetch, localAdminToken, loginCookie } from "../support/auth-http.js";
import { describeEachDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { LONG_SCRIPT, longModel } from "../support/scripted-models.js";
import { ndjsonRecords, openStreamBody, type OpenedStream } from "../support/streams.js";

describeEachDatabase("session revocation cuts open streams", (db) => {
  let platform: TestPlatform;
  let token: string;

  const login = (username: string, password: string) => loginCookie(platform.url, username, password);
  const asAdmin = (method: string, path: string, body?: unknown) =>
    jsonFetch(platform.url, method, path, body, bearer(token));

  /** Starts a streaming chat with `cookie` and waits for its first line. */
  const openStream = async (cookie: string): Promise<OpenedStream> => {
    const response = await fetch(`${platform.url}/api/chat`, {
      method: "POST",
      headers: { Cookie: cookie },
      body: JSON.stringify({ model: "long", messages: [{ role: "user", content: "go" }] }),
    });
    expect(response.status).toBe(200);
    const stream = await openStreamBody(response);
    // Under load the first line may carry a few tokens at once: it starts with the script's first.
    const first = JSON.parse(stream.head.split("\n")[0]!) as { message: { content: string } };
    expect(first.message.content.startsWith(LONG_SCRIPT[0]!)).toBe(true);
    return stream;
  };
  /** The NDJSON lines a stream received and whether its connection was cut. */
  const readRest = async (stream: OpenedStream) => {
    const { text, cut } = await stream.finish();
    return { lines: ndjsonRecords<{ done?: boolean }>(text), cut };
  };

  /** The stream never finished and the generation behind it stopped (the slot is free again). */
  const expectCut = async (stream: OpenedStream) => {
    const { lines, cut } = await readRest(stream);
    expect(lines.some((line) => line.done === true)).toBe(false);
    expect(cut).toBe(true);
    expect(lines.length).toBeLessThan(LONG_SCRIPT.length);
    await expect.poll(() => platform.deps.engine.stats().activeRequests, { timeout: 30_000 }).toBe(0);
    expect(platform.deps.auth?.hub.size).toBe(0);
  };

  beforeAll(async () => {
    platform = await startTestPlatform({
      database: db(),
      flags: { "engine.threads": 1, "engine.num_parallel": 2 },
      models: [{ name: "long", gguf: await longModel() }],
    });
    token = await localAdminToken(platform.config);
    await createUser(db(), { username: "alice", password: "alice-password-1", role: "user" });
    await createUser(db(), { username: "bob", password: "bob-password-1", role: "admin" });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("logout cuts that session's stream and leaves another session's stream running", async () => {
    const mine = await login("alice", "alice-password-1");
    const other = await login("alice", "alice-password-1");
    const cutStream = await openStream(mine);
    const kept = await openStream(other);
    expect(
      (await fetch(`${platform.url}/api/auth/logout`, { method: "POST", headers: { Cookie: mine } })).status,
    ).toBe(204);
    const { lines, cut } = await readRest(cutStream);
    expect(cut).toBe(true);
    expect(lines.some((line) => line.done === true)).toBe(false);
    // The other session was not revoked: its stream runs to the end.
    const rest = await readRest(kept);
    expect(rest.cut).toBe(false);
    expect(rest.lines.at(-1)?.done).toBe(true);
    await expect.poll(() => platform.deps.engine.stats().activeRequests, { timeout: 30_000 }).toBe(0);
  });

  it("a role change through the admin API cuts the user's stream", async () => {
    const stream = await openStream(await login("bob", "bob-password-1"));
    expect((await asAdmin("PUT", "/api/admin/users/bob/role", { role: "user" })).status).toBe(200);
    await expectCut(stream);
  });

  it("deleting the user through the admin API cuts their stream", async () => {
    const stream = await openStream(await login("bob", "bob-password-1"));
    expect((await asAdmin("DELETE", "/api/admin/users/bob")).status).toBe(204);
    await expectCut(stream);
  });

  it("revoking all sessions (secret rotation) cuts every session's stream", async () => {
    const stream = await openStream(await login("alice", "alice-password-1"));
    expect(await revokeAllSessions(db())).toBeGreaterThanOrEqual(1);
    await expectCut(stream);
  });
});
