/**
 * Thinking models in the web chat (docs/web-app.md, "Streams"): through the app's JSON and stream
 * routes, the reasoning streams as `thinking` events apart from the answer's `delta`s, is stored
 * in the message's `thinking` apart from its `content` (partial rows too), and is replayed to a
 * stream that re-attaches mid-answer; a model that does not think is never asked to (a 400) and
 * answers as before. The scripted models' output is known, so the split is checked exactly.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { jsonFetch, loginCookie } from "../support/auth-http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import {
  HELLO_SCRIPT,
  helloModel,
  QWEN3_ANSWER,
  QWEN3_THINKING,
  qwen3ThinkingModel,
  R1_LOOP_THINKING,
  r1LoopModel,
} from "../support/scripted-models.js";
import { ndjsonRecords, openStreamBody } from "../support/streams.js";

interface MessageWire {
  id: string;
  role: string;
  content: string;
  thinking: string | null;
  status: string;
}
type StreamEvent =
  | { type: "start"; user_message?: MessageWire; message: MessageWire }
  | { type: "delta"; content: string }
  | { type: "thinking"; content: string }
  | { type: "tool_calls"; tool_calls: unknown[] }
  | { type: "done"; message: MessageWire };
type Start = Extract<StreamEvent, { type: "start" }>;

let platform: TestPlatform;
let cookie: string;

const api = (method: string, path: string, body?: unknown) =>
  jsonFetch(platform.url, method, `/api/aixcl${path}`, body, { Cookie: cookie });
const json = async <T>(response: Response, status = 200): Promise<T> => {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
};
const newChat = async (model: string) =>
  (await json<{ id: string }>(await api("POST", "/conversations", { model }), 201)).id;
const send = (chatId: string, content: string, parentId: string | null = null) =>
  api("POST", `/conversations/${chatId}/messages`, { content, parent_id: parentId });
const stored = async (chatId: string, id: string) =>
  (await json<{ messages: MessageWire[] }>(await api("GET", `/conversations/${chatId}`))).messages.find(
    (m) => m.id === id,
  );
const joined = (events: StreamEvent[], type: "delta" | "thinking") =>
  events.flatMap((e) => (e.type === type ? [e.content] : [])).join("");
const firstIndex = (events: StreamEvent[], type: StreamEvent["type"]) =>
  events.findIndex((e) => e.type === type);
const lastIndex = (events: StreamEvent[], type: StreamEvent["type"]) =>
  events.findLastIndex((e) => e.type === type);

beforeAll(async () => {
  const [hello, qwen3, loop] = await Promise.all([helloModel(), qwen3ThinkingModel(), r1LoopModel()]);
  platform = await startTestPlatform({
    flags: { "engine.context_length": 8192 },
    models: [
      { name: "hello", gguf: hello },
      { name: "qwen3", gguf: qwen3 },
      { name: "r1-loop", gguf: loop },
    ],
  });
  await createUser(platform.deps.db!, { username: "tess", password: "tess-password-1", role: "user" });
  cookie = await loginCookie(platform.url, "tess", "tess-password-1");
});

afterAll(async () => {
  await platform?.close();
});

it("streams the reasoning as thinking events before the deltas and stores it apart from the content", async () => {
  const chatId = await newChat("qwen3");
  const events = ndjsonRecords<StreamEvent>(await (await send(chatId, "Which?")).text());
  const start = events[0] as Start;
  expect(start).toMatchObject({ type: "start", message: { content: "", thinking: null } });
  expect(joined(events, "thinking")).toBe(QWEN3_THINKING + "\n");
  expect(joined(events, "delta")).toBe(QWEN3_ANSWER);
  expect(lastIndex(events, "thinking")).toBeLessThan(firstIndex(events, "delta"));
  const done = events.at(-1);
  expect(done).toMatchObject({
    type: "done",
    message: { status: "done", thinking: QWEN3_THINKING + "\n", content: QWEN3_ANSWER },
  });
  if (done?.type !== "done") throw new Error("no done");
  expect(await stored(chatId, start.message.id)).toEqual(done.message);

  // A finished answer re-attached: its row, reasoning included, in `done`.
  const again = ndjsonRecords<StreamEvent>(
    await (await api("GET", `/messages/${start.message.id}/stream`)).text(),
  );
  expect(again.map((e) => e.type)).toEqual(["start", "done"]);
  expect(again[1]).toEqual(done);

  // The next turn's history holds the stored reasoning; the template drops it, the answer comes.
  const next = ndjsonRecords<StreamEvent>(await (await send(chatId, "And then?", start.message.id)).text());
  expect(next.at(-1)).toMatchObject({ type: "done", message: { status: "done", content: QWEN3_ANSWER } });
});

it("saves the reasoning with the partial row, replays it to a re-attached stream, and keeps it on stop", async () => {
  const chatId = await newChat("r1-loop");
  // Read until the answer's text has started: the reasoning ("Plan") is complete by then.
  const original = await openStreamBody(await send(chatId, "Go"), (text) => text.includes('"type":"delta"'));
  const id = (JSON.parse(original.head.split("\n")[0]!) as Start).message.id;

  await expect
    .poll(async () => {
      const row = await stored(chatId, id);
      return row?.status === "streaming" && row.content !== "" ? row.thinking : undefined;
    })
    .toBe(R1_LOOP_THINKING);

  // start, the reasoning so far, the text so far, then at least one live delta.
  const reattached = await openStreamBody(
    await api("GET", `/messages/${id}/stream`),
    (text) => text.split("\n").length > 4,
  );
  const replay = ndjsonRecords<StreamEvent>(reattached.head.split("\n").slice(0, 3).join("\n"));
  expect(replay[0]).toMatchObject({ type: "start", message: { id, content: "", thinking: null } });
  expect(replay[1]).toEqual({ type: "thinking", content: R1_LOOP_THINKING });
  expect(replay[2]).toMatchObject({ type: "delta" });
  expect((replay[2] as { content: string }).content.startsWith("La")).toBe(true);

  const stopped = await json<MessageWire>(await api("POST", `/messages/${id}/stop`));
  expect(stopped).toMatchObject({ status: "stopped", thinking: R1_LOOP_THINKING });
  expect(stopped.content.startsWith("LaPlan")).toBe(true);

  for (const stream of [original, reattached]) {
    const events = ndjsonRecords<StreamEvent>((await stream.finish()).text);
    expect(joined(events, "thinking")).toBe(R1_LOOP_THINKING);
    expect(joined(events, "delta")).toBe(stopped.content);
    expect(events.at(-1)).toMatchObject({
      type: "done",
      message: { status: "stopped", thinking: R1_LOOP_THINKING },
    });
  }
  expect(await stored(chatId, id)).toMatchObject({ thinking: R1_LOOP_THINKING, content: stopped.content });
});

it("a model that does not think answers as before: no thinking events, thinking null", async () => {
  const chatId = await newChat("hello");
  const events = ndjsonRecords<StreamEvent>(await (await send(chatId, "Hi")).text());
  expect(new Set(events.map((e) => e.type))).toEqual(new Set(["start", "delta", "done"]));
  expect(events.at(-1)).toMatchObject({
    type: "done",
    message: { status: "done", content: HELLO_SCRIPT.join(""), thinking: null },
  });
});
