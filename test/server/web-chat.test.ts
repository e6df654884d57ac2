/**
 * The web chat's JSON routes (docs/web-app.md) end to end on both engines: real HTTP on port 0,
 * session cookies from the login route, real llama.cpp on scripted models (one that ends, one
 * that loops until stopped). The server owns each answer: a client that disconnects does not
 * stop it, stop() saves the partial text, a re-attached stream replays then continues, and
 * another user's ids answer 404 on every route.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { getMessage } from "../../src/store/messages.js";
import { jsonFetch, loginCookie } from "../support/auth-http.js";
import { describeEachDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { recordingDatabase } from "../support/recording-database.js";
import { HELLO_SCRIPT, helloModel, systemLastModel } from "../support/scripted-models.js";
import { ndjsonRecords, openStreamBody } from "../support/streams.js";
import { scriptedModel } from "../support/test-models.js";

const ANY_STRING = expect.any(String) as unknown;
const ANY_NUMBER = expect.any(Number) as unknown;
const LOOP_SCRIPT = [" la", " li", " lo"];
const loopModel = () => scriptedModel("chat-loop", LOOP_SCRIPT, { loop: true, contextLength: 8192 });

interface MessageWire {
  id: string;
  parent_id: string | null;
  role: string;
  content: string;
  model: string | null;
  status: string;
  error: { code: string; message: string } | null;
  stats: Record<string, number> | null;
}
interface ConversationWire {
  id: string;
  title: string;
  model: string | null;
  pinned: boolean;
  system: string | null;
  options: Record<string, number>;
}
type StreamEvent =
  | { type: "start"; user_message?: MessageWire; message: MessageWire; conversation?: ConversationWire }
  | { type: "delta"; content: string }
  | { type: "done"; message: MessageWire };

describeEachDatabase("web chat API", (db) => {
  let platform: TestPlatform;
  let alice: string;
  let aliceId: string;
  let bob: string;
  /** Every statement the platform runs (its database is wrapped). */
  let statements: string[];

  const api = (cookie: string, method: string, path: string, body?: unknown) =>
    jsonFetch(platform.url, method, `/api/aixcl${path}`, body, { Cookie: cookie });
  const json = async <T>(response: Response, status = 200): Promise<T> => {
    const text = await response.text();
    expect(response.status, text).toBe(status);
    return JSON.parse(text) as T;
  };
  const newChat = async (cookie: string, body: Record<string, unknown> = {}) =>
    json<ConversationWire>(await api(cookie, "POST", "/conversations", body), 201);
  const open = (cookie: string, id: string) =>
    api(cookie, "GET", `/conversations/${id}`).then((r) =>
      json<{ conversation: ConversationWire; messages: MessageWire[] }>(r),
    );
  const answerOf = async (cookie: string, chatId: string, id: string) =>
    (await open(cookie, chatId)).messages.find((m) => m.id === id);
  const send = (cookie: string, chatId: string, body: Record<string, unknown>) =>
    api(cookie, "POST", `/conversations/${chatId}/messages`, body);
  const deltas = (events: StreamEvent[]) =>
    events.flatMap((e) => (e.type === "delta" ? [e.content] : [])).join("");

  beforeAll(async () => {
    const [hello, loop, systemLast] = await Promise.all([helloModel(), loopModel(), systemLastModel()]);
    const recorded = recordingDatabase(db());
    statements = recorded.statements;
    platform = await startTestPlatform({
      database: recorded.db,
      // No queue: a third answer while two run is refused at once (queue_full).
      flags: { "engine.num_parallel": 2, "engine.max_queue": 0, "engine.context_length": 8192 },
      models: [
        { name: "hello", gguf: hello },
        { name: "loop", gguf: loop },
        { name: "sys", gguf: systemLast },
      ],
    });
    aliceId = (await createUser(db(), { username: "alice", password: "alice-password-1", role: "user" })).id;
    await createUser(db(), { username: "bob", password: "bob-password-1", role: "user" });
    alice = await loginCookie(platform.url, "alice", "alice-password-1");
    bob = await loginCookie(platform.url, "bob", "bob-password-1");
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("needs a user, lists chat models, and answers errors as {error:{code,message}}", async () => {
    const anonymous = await jsonFetch(platform.url, "GET", "/api/aixcl/conversations");
    expect(await json(anonymous, 401)).toEqual({
      error: { code: "unauthorized", message: ANY_STRING },
    });
    const { models } = await json<{ models: Record<string, string>[] }>(await api(alice, "GET", "/models"));
    expect(models.map((m) => m.name)).toEqual(["hello:latest", "loop:latest", "sys:latest"]);
    expect(models[0]).toMatchObject({
      parameter_size: ANY_STRING,
      quantization: "F32",
      family: "llama",
    });
    const bad = await api(alice, "POST", "/conversations", { options: { temperature: "hot" } });
    expect(await json(bad, 400)).toMatchObject({ error: { code: "invalid_request" } });
  });

  it("creates, renames, pins, lists by cursor, searches and deletes conversations", async () => {
    const carol = await (async () => {
      await createUser(db(), { username: "carol", password: "carol-password-1", role: "user" });
      return loginCookie(platform.url, "carol", "carol-password-1");
    })();
    const a = await newChat(carol, {
      title: "Alpha plans",
      model: "hello",
      system: "Be brief",
      options: { temperature: 0.2 },
    });
    expect(a).toMatchObject({
      title: "Alpha plans",
      model: "hello",
      pinned: false,
      system: "Be brief",
      options: { temperature: 0.2 },
    });
    const b = await newChat(carol, { title: "Beta" });
    const c = await newChat(carol, { title: "Gamma" });
    const renamed = await json<ConversationWire>(
      await api(carol, "PATCH", `/conversations/${b.id}`, { title: "Beta notes", pinned: true }),
    );
    expect(renamed).toMatchObject({ title: "Beta notes", pinned: true });

    const page1 = await json<{ conversations: ConversationWire[]; next_cursor: string | null }>(
      await api(carol, "GET", "/conversations?limit=2"),
    );
    expect(page1.conversations.map((x) => x.id)).toEqual([b.id, c.id]);
    const page2 = await json<{ conversations: ConversationWire[]; next_cursor: string | null }>(
      await api(carol, "GET", `/conversations?limit=2&cursor=${encodeURIComponent(page1.next_cursor ?? "")}`),
    );
    expect(page2).toEqual({ conversations: [expect.objectContaining({ id: a.id })], next_cursor: null });
    const found = await json<{ conversations: ConversationWire[] }>(
      await api(carol, "GET", "/conversations?q=alp"),
    );
    expect(found.conversations.map((x) => x.id)).toEqual([a.id]);

    expect((await api(carol, "DELETE", `/conversations/${c.id}`)).status).toBe(204);
    expect(await json(await api(carol, "GET", `/conversations/${c.id}`), 404)).toMatchObject({
      error: { code: "not_found" },
    });
  });

  it("streams an answer, saves it with stats, and titles the chat from the first message", async () => {
    const chat = await newChat(alice, { model: "hello" });
    const response = await send(alice, chat.id, {
      content: "Say hello to the world please",
      parent_id: null,
    });
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    const events = ndjsonRecords<StreamEvent>(await response.text());
    const start = events[0];
    expect(start?.type).toBe("start");
    if (start?.type !== "start") throw new Error("no start");
    expect(start.user_message).toMatchObject({
      role: "user",
      content: "Say hello to the world please",
      parent_id: null,
    });
    expect(start.message).toMatchObject({
      role: "assistant",
      status: "streaming",
      parent_id: start.user_message?.id,
    });
    // The chat as the turn left it: titled by its first message, no request needed to learn it.
    expect(start.conversation).toMatchObject({ id: chat.id, title: "Say hello to the world please" });
    expect(deltas(events)).toBe(HELLO_SCRIPT.join(""));
    const done = events.at(-1);
    expect(done).toMatchObject({ type: "done", message: { status: "done", content: HELLO_SCRIPT.join("") } });
    if (done?.type !== "done") throw new Error("no done");
    expect(done.message.stats).toMatchObject({
      prompt_tokens: ANY_NUMBER,
      completion_tokens: ANY_NUMBER,
      ttft_ms: ANY_NUMBER,
      tokens_per_second: ANY_NUMBER,
      total_ms: ANY_NUMBER,
    });

    const opened = await open(alice, chat.id);
    expect(opened.conversation.title).toBe("Say hello to the world please");
    expect(opened.messages).toEqual([start.user_message, done.message]);
    // A finished answer re-attached: start, then done at once.
    const again = ndjsonRecords<StreamEvent>(
      await (await api(alice, "GET", `/messages/${done.message.id}/stream`)).text(),
    );
    expect(again.map((e) => e.type)).toEqual(["start", "done"]);
    expect(again[0]).not.toHaveProperty("conversation");
  });

  it("a follow-up to the answer just finished starts without reading the chat or its branch, and still honours a system prompt changed meanwhile", async () => {
    // The model answers " Beta Gamma" when its prompt holds the system prompt "@", else "@ Beta Gamma".
    const chat = await newChat(alice, { model: "sys", system: "@" });
    const answer = async (content: string, parentId: string | null) => {
      const events = ndjsonRecords<StreamEvent>(
        await (await send(alice, chat.id, { content, parent_id: parentId, model: "sys" })).text(),
      );
      const done = events.at(-1);
      if (done?.type !== "done") throw new Error("no done");
      return done.message;
    };
    const reads = () =>
      statements.filter((sql) => /FROM conversations WHERE id|FROM messages m JOIN conversations/.test(sql));
    const first = await answer("one", null);
    expect(first.content).toBe(" Beta Gamma");

    statements.length = 0;
    const second = await answer("two", first.id);
    expect(second.content).toBe(" Beta Gamma");
    // Built from what the server kept of the first turn: neither the chat nor the branch was read.
    expect(reads()).toEqual([]);
    expect((await open(alice, chat.id)).messages.map((m) => m.content)).toEqual([
      "one",
      " Beta Gamma",
      "two",
      " Beta Gamma",
    ]);

    // Another server on the same database drops the system prompt: the kept turn is stale, and
    // the prompt begun from it is started again from the row the insert locked.
    await db().query("UPDATE conversations SET system = NULL WHERE id = $1", [chat.id]);
    const third = await answer("three", second.id);
    expect(third.content).toBe("@ Beta Gamma");

    // Changed through this server: forgotten at once, so the next prompt reads the chat first.
    await json(await api(alice, "PATCH", `/conversations/${chat.id}`, { system: "@" }));
    statements.length = 0;
    const fourth = await answer("four", third.id);
    expect(fourth.content).toBe(" Beta Gamma");
    expect(reads().length).toBeGreaterThan(0);

    // A rename or a pin changes nothing a prompt is built from: the kept turn stays.
    await json(await api(alice, "PATCH", `/conversations/${chat.id}`, { title: "renamed", pinned: true }));
    statements.length = 0;
    const fifth = await answer("five", fourth.id);
    expect(fifth.content).toBe(" Beta Gamma");
    expect(reads()).toEqual([]);
  });

  it("refuses an unknown model before storing anything", async () => {
    const chat = await newChat(alice);
    const missing = await send(alice, chat.id, { content: "hi", parent_id: null, model: "nope" });
    expect(await json(missing, 404)).toMatchObject({ error: { code: "model_not_found" } });
    const noModel = await send(alice, chat.id, { content: "hi", parent_id: null });
    expect(await json(noModel, 400)).toMatchObject({ error: { code: "invalid_request" } });
    expect((await open(alice, chat.id)).messages).toEqual([]);
  });

  it("regenerate and edit-and-resend create siblings", async () => {
    const chat = await newChat(alice, { model: "hello" });
    const first = ndjsonRecords<StreamEvent>(
      await (await send(alice, chat.id, { content: "q1", parent_id: null })).text(),
    );
    const start = first[0] as Extract<StreamEvent, { type: "start" }>;
    const regenerated = ndjsonRecords<StreamEvent>(
      await (await api(alice, "POST", `/messages/${start.message.id}/regenerate`)).text(),
    );
    const second = regenerated[0] as Extract<StreamEvent, { type: "start" }>;
    expect(second.user_message).toBeUndefined();
    expect(second.message.parent_id).toBe(start.user_message?.id);
    expect(regenerated.at(-1)).toMatchObject({
      type: "done",
      message: { status: "done", content: HELLO_SCRIPT.join("") },
    });

    const edited = ndjsonRecords<StreamEvent>(
      await (await send(alice, chat.id, { content: "q1 edited", parent_id: null })).text(),
    );
    const third = edited[0] as Extract<StreamEvent, { type: "start" }>;
    const { messages } = await open(alice, chat.id);
    expect(messages.filter((m) => m.parent_id === null).map((m) => m.content)).toEqual(["q1", "q1 edited"]);
    expect(messages.filter((m) => m.parent_id === start.user_message?.id)).toHaveLength(2);
    expect(messages.find((m) => m.parent_id === third.user_message?.id)?.status).toBe("done");
  });

  it("a client that disconnects mid-answer does not stop it: the answer completes and is saved", async () => {
    const chat = await newChat(alice, { model: "loop", options: { num_predict: 120 } });
    const controller = new AbortController();
    const response = await fetch(`${platform.url}/api/aixcl/conversations/${chat.id}/messages`, {
      method: "POST",
      headers: { Cookie: alice, "Content-Type": "application/json" },
      body: JSON.stringify({ content: "go", parent_id: null }),
      signal: controller.signal,
    });
    const stream = await openStreamBody(response);
    const start = JSON.parse(stream.head.split("\n")[0]!) as Extract<StreamEvent, { type: "start" }>;
    controller.abort();
    await expect
      .poll(async () => (await answerOf(alice, chat.id, start.message.id))?.status, { timeout: 60_000 })
      .toBe("done");
    const saved = await answerOf(alice, chat.id, start.message.id);
    expect(saved?.stats?.completion_tokens).toBe(120);
    expect(saved?.content.startsWith(LOOP_SCRIPT.join(""))).toBe(true);
  });

  it("saves the partial answer while streaming; stop saves it stopped; a re-attach replays then continues", async () => {
    const chat = await newChat(alice, { model: "loop" });
    const response = await send(alice, chat.id, { content: "go on", parent_id: null });
    const stream = await openStreamBody(response);
    const start = JSON.parse(stream.head.split("\n")[0]!) as Extract<StreamEvent, { type: "start" }>;
    const id = start.message.id;

    // The text so far is in the database while the answer is still being generated.
    await expect
      .poll(
        async () => {
          const saved = await answerOf(alice, chat.id, id);
          return saved?.status === "streaming" && saved.content.length > 0;
        },
        { timeout: 30_000 },
      )
      .toBe(true);

    // Read on until a live delta follows the replay (start, replay, live: three lines), then stop.
    const reattached = await openStreamBody(
      await api(alice, "GET", `/messages/${id}/stream`),
      (text) => text.split("\n").length > 3,
    );
    const replay = ndjsonRecords<StreamEvent>(reattached.head.split("\n").slice(0, 1).join("\n"));
    expect(replay[0]).toMatchObject({ type: "start", message: { id, status: "streaming" } });

    const stopped = await json<MessageWire>(await api(alice, "POST", `/messages/${id}/stop`));
    expect(stopped.status).toBe("stopped");
    expect(stopped.content.startsWith(LOOP_SCRIPT.join(""))).toBe(true);

    const original = ndjsonRecords<StreamEvent>((await stream.finish()).text);
    expect(deltas(original)).toBe(stopped.content);
    expect(original.at(-1)).toMatchObject({ type: "done", message: { status: "stopped" } });
    const attached = ndjsonRecords<StreamEvent>((await reattached.finish()).text);
    expect(attached[1]).toMatchObject({ type: "delta" });
    expect(deltas(attached)).toBe(stopped.content);
    expect(attached.filter((e) => e.type === "delta").length).toBeGreaterThan(1);
    expect(attached.at(-1)).toMatchObject({ type: "done", message: { status: "stopped" } });
    expect(await answerOf(alice, chat.id, id)).toMatchObject({ status: "stopped", content: stopped.content });
  });

  it("a full queue is a 503 with Retry-After before anything is stored", async () => {
    const running = [];
    for (const content of ["one", "two"]) {
      const chat = await newChat(alice, { model: "loop" });
      const stream = await openStreamBody(await send(alice, chat.id, { content, parent_id: null }));
      running.push(
        (JSON.parse(stream.head.split("\n")[0]!) as Extract<StreamEvent, { type: "start" }>).message.id,
      );
      void stream.finish();
    }
    const chat = await newChat(alice, { model: "loop" });
    const refused = await send(alice, chat.id, { content: "three", parent_id: null });
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await json(refused, 503)).toMatchObject({ error: { code: "queue_full" } });
    expect((await open(alice, chat.id)).messages).toEqual([]);
    for (const id of running) {
      expect((await json<MessageWire>(await api(alice, "POST", `/messages/${id}/stop`))).status).toBe(
        "stopped",
      );
    }
  });

  it("a message under an answer still being written is a 409 that stores nothing and stops the inference begun for it", async () => {
    const chat = await newChat(alice, { model: "loop" });
    const stream = await openStreamBody(await send(alice, chat.id, { content: "go", parent_id: null }));
    const running = (JSON.parse(stream.head.split("\n")[0]!) as Extract<StreamEvent, { type: "start" }>)
      .message;
    const before = (await open(alice, chat.id)).messages;

    // The model starts on the prompt while the rows are written; storing fails here (the parent
    // is still streaming), so that inference must end with the refusal.
    const refused = await send(alice, chat.id, { content: "too early", parent_id: running.id });
    expect(await json(refused, 409)).toMatchObject({ error: { code: "conflict" } });
    expect((await open(alice, chat.id)).messages).toEqual(before);

    // Two slots, no queue: the loop model's second slot is free again, or this would be queue_full.
    const other = await newChat(alice, { model: "loop" });
    const second = await openStreamBody(await send(alice, other.id, { content: "go", parent_id: null }));
    const secondId = (JSON.parse(second.head.split("\n")[0]!) as Extract<StreamEvent, { type: "start" }>)
      .message.id;
    for (const id of [running.id, secondId]) {
      expect((await json<MessageWire>(await api(alice, "POST", `/messages/${id}/stop`))).status).toBe(
        "stopped",
      );
    }
    await Promise.all([stream.finish(), second.finish()]);
  });

  it("another user's conversation and message ids answer 404 on every route", async () => {
    const chat = await newChat(alice, { model: "hello" });
    const events = ndjsonRecords<StreamEvent>(
      await (await send(alice, chat.id, { content: "mine", parent_id: null })).text(),
    );
    const start = events[0] as Extract<StreamEvent, { type: "start" }>;
    const message = start.message.id;
    const attempts: [string, string, unknown?][] = [
      ["GET", `/conversations/${chat.id}`],
      ["PATCH", `/conversations/${chat.id}`, { title: "pwned" }],
      ["DELETE", `/conversations/${chat.id}`],
      ["POST", `/conversations/${chat.id}/messages`, { content: "x", parent_id: null, model: "hello" }],
      ["POST", `/messages/${message}/regenerate`],
      ["GET", `/messages/${message}/stream`],
      ["POST", `/messages/${message}/stop`],
    ];
    for (const [method, path, body] of attempts) {
      const response = await api(bob, method, path, body);
      expect(await json(response, 404), `${method} ${path}`).toMatchObject({ error: { code: "not_found" } });
    }
    const bobs = await json<{ conversations: ConversationWire[] }>(await api(bob, "GET", "/conversations"));
    expect(bobs.conversations.map((c) => c.id)).not.toContain(chat.id);
    expect((await open(alice, chat.id)).messages).toHaveLength(2);
  });

  // Last: it closes the platform.
  it("closing the server stops running answers and saves them stopped", async () => {
    const chat = await newChat(alice, { model: "loop" });
    const stream = await openStreamBody(await send(alice, chat.id, { content: "forever", parent_id: null }));
    const start = JSON.parse(stream.head.split("\n")[0]!) as Extract<StreamEvent, { type: "start" }>;
    await platform.close();
    const events = ndjsonRecords<StreamEvent>((await stream.finish()).text);
    expect(events.at(-1)).toMatchObject({ type: "done", message: { status: "stopped" } });
    const saved = await getMessage(db(), aliceId, start.message.id);
    expect(saved.status).toBe("stopped");
    expect(saved.content).toBe(deltas(events));
    expect(saved.content.startsWith(LOOP_SCRIPT[0]!)).toBe(true);

    // A crash (kill -9) skips that save: the next start marks what it left streaming stopped.
    await db().query(`UPDATE messages SET status = 'streaming' WHERE id = $1`, [start.message.id]);
    const next = await startTestPlatform({ database: db(), flags: { "engine.context_length": 512 } });
    try {
      expect(await getMessage(db(), aliceId, start.message.id)).toMatchObject({
        status: "stopped",
        content: saved.content,
      });
    } finally {
      await next.close();
    }
  });
});
