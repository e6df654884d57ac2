/**
 * The Ollama API end to end: the published `ollama` client (and raw fetch where the client
 * cannot express a case) against a real platform on port 0 running real llama.cpp runners on
 * scripted test models.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { Ollama, type CreateRequest, type Tool } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSION } from "../../src/version.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { tinyModel } from "../support/test-models.js";
import { helloModel, jsonModel, toolModel, uploadModel, WEATHER_TOOL } from "../support/scripted-models.js";

const ANY_STRING = expect.any(String) as unknown;
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;

const weatherTool: Tool = WEATHER_TOOL;

let platform: TestPlatform;
let ollama: Ollama;

function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${platform.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

async function ndjson(response: Response): Promise<Record<string, unknown>[]> {
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

beforeAll(async () => {
  const [hello, tools, json, tiny] = await Promise.all([helloModel(), toolModel(), jsonModel(), tinyModel()]);
  platform = await startTestPlatform({
    // 1024: the tool-calling prompts (tool schemas in the prompt) take ~550 tokens.
    flags: { profile: "core", "engine.context_length": 1024, "engine.num_parallel": 1 },
    models: [
      { name: "hello", gguf: hello },
      { name: "tools", gguf: tools },
      { name: "json", gguf: json },
      { name: "tiny", gguf: tiny },
    ],
  });
  ollama = new Ollama({ host: platform.url });
});

afterAll(async () => {
  await platform?.close();
});

describe("basics", () => {
  it("answers / (GET and HEAD) and /api/version, each with a request id", async () => {
    const root = await fetch(`${platform.url}/`);
    expect(await root.text()).toBe("Ollama is running");
    expect(root.headers.get("x-request-id")).toBeTruthy();
    const head = await fetch(`${platform.url}/`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await ollama.version()).toEqual({ version: VERSION });
  });

  it("answers unknown routes with 404 in each family's shape", async () => {
    const api = await fetch(`${platform.url}/api/nope`);
    expect(api.status).toBe(404);
    expect(api.headers.get("x-request-id")).toBeTruthy();
    expect(await api.json()).toEqual({ error: ANY_STRING });
    // Profile core has no users and no chats: the web app's routes are not mounted.
    const web = await fetch(`${platform.url}/api/aixcl/conversations`);
    expect(web.status).toBe(404);
    await web.arrayBuffer();
    const v1 = await fetch(`${platform.url}/v1/nope`);
    expect(v1.status).toBe(404);
    expect(await v1.json()).toMatchObject({
      error: { message: ANY_STRING, type: "not_found_error" },
    });
  });
});

describe("/api/generate", () => {
  it("answers non-streaming with the whole text, done_reason, ns timings and context", async () => {
    const res = await ollama.generate({ model: "hello", prompt: "Say hi", stream: false });
    expect(res.response).toBe("Hello world!");
    expect(res.done).toBe(true);
    expect(res.done_reason).toBe("stop");
    expect(res.model).toBe("hello");
    expect(String(res.created_at)).toMatch(RFC3339_NANO);
    expect(res.total_duration).toBeGreaterThan(0);
    expect(res.prompt_eval_duration).toBeGreaterThan(0);
    expect(res.eval_duration).toBeGreaterThan(0);
    expect(res.load_duration).toBeGreaterThanOrEqual(0);
    expect(Number.isInteger(res.total_duration)).toBe(true);
    expect(res.prompt_eval_count).toBeGreaterThan(0);
    expect(res.eval_count).toBe(3);
    expect(res.context.length).toBeGreaterThan(res.eval_count);
    expect(res.context.every((id) => Number.isInteger(id))).toBe(true);
  });

  it("streams NDJSON chunks that add up to the text, ending with a final chunk", async () => {
    const parts = [];
    for await (const part of await ollama.generate({ model: "hello", prompt: "Say hi", stream: true }))
      parts.push(part);
    expect(parts.map((p) => p.response).join("")).toBe("Hello world!");
    const last = parts.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.done_reason).toBe("stop");
    expect(last.eval_count).toBe(3);
    expect(last.context.length).toBeGreaterThan(0);
    expect(parts.slice(0, -1).every((p) => !p.done)).toBe(true);
    const raw = await post("/api/generate", { model: "hello", prompt: "x" });
    expect(raw.headers.get("content-type")).toContain("application/x-ndjson");
    await raw.text();
  });

  it("loads on an empty prompt and unloads with keep_alive 0", async () => {
    const loaded = await post("/api/generate", { model: "json" });
    expect(await loaded.json()).toMatchObject({
      model: "json",
      done: true,
      done_reason: "load",
      response: "",
    });
    expect((await ollama.ps()).models.map((m) => m.name)).toContain("json:latest");
    const unloaded = await post("/api/generate", { model: "json", keep_alive: 0 });
    expect(await unloaded.json()).toMatchObject({ done: true, done_reason: "unload" });
    await expect
      .poll(async () => (await ollama.ps()).models.map((m) => m.name), { timeout: 10_000 })
      .not.toContain("json:latest");
  });

  it("constrains output to a JSON schema", async () => {
    const schema = { type: "object", properties: { city: { type: "string" } }, required: ["city"] };
    const res = await ollama.generate({ model: "json", prompt: "Where?", format: schema, stream: false });
    expect(JSON.parse(res.response ?? "")).toEqual({ city: "Paris" });
  });

  it("parses a curl -d style (form-urlencoded) body", async () => {
    const res = await post("/api/generate", '{"model":"hello","prompt":"hi","stream":false}', {
      "Content-Type": "application/x-www-form-urlencoded",
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ response: "Hello world!" });
  });

  it("fails before streaming with real HTTP errors: unknown model 404, bad name 400, no model 400", async () => {
    const unknown = await post("/api/generate", { model: "nope", prompt: "hi" });
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("content-type")).toContain("application/json");
    expect(((await unknown.json()) as { error: string }).error).toContain("not found");
    await expect(ollama.generate({ model: "nope", prompt: "hi" })).rejects.toMatchObject({
      status_code: 404,
    });

    const badName = await post("/api/generate", { model: "../etc/passwd", prompt: "hi" });
    expect(badName.status).toBe(400);
    expect(((await badName.json()) as { error: string }).error).toMatch(/invalid model name/);

    const missing = await post("/api/generate", { prompt: "hi" });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: "invalid request: model is required" });

    const badOption = await post("/api/generate", {
      model: "hello",
      prompt: "hi",
      options: { temperature: "hot" },
    });
    expect(badOption.status).toBe(400);
    expect(((await badOption.json()) as { error: string }).error).toMatch(/temperature/);
  });

  it("refuses a context holding a token id the model does not have, and then answers one that is valid", async () => {
    const { context } = await ollama.generate({ model: "hello", prompt: "Say hi", stream: false });
    const bad = await post("/api/generate", {
      model: "hello",
      prompt: "Hi",
      stream: false,
      context: [...context, 999_999_999],
    });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-aixcl-error-code")).toBe("invalid_request");
    expect(((await bad.json()) as { error: string }).error).toMatch(
      /context holds token id 999999999, which is not in this model's vocabulary \(ids 0 to \d+\)/,
    );
    const next = await ollama.generate({ model: "hello", prompt: "Say hi", stream: false, context });
    expect(next.response).toBe("Hello world!");
  });
});

describe("/api/chat", () => {
  it("answers streaming and not with the assistant message", async () => {
    const messages = [{ role: "user", content: "Say hi" }];
    const whole = await ollama.chat({ model: "hello", messages, stream: false });
    expect(whole.message).toMatchObject({ role: "assistant", content: "Hello world!" });
    expect(whole.done_reason).toBe("stop");
    expect(whole.eval_count).toBe(3);
    const parts = [];
    for await (const part of await ollama.chat({ model: "hello", messages, stream: true })) parts.push(part);
    expect(parts.map((p) => p.message.content).join("")).toBe("Hello world!");
    expect(parts.at(-1)).toMatchObject({ done: true, done_reason: "stop" });
    expect(parts.at(-1)!.total_duration).toBeGreaterThan(0);
  });

  it("returns tool calls with object arguments", async () => {
    const messages = [{ role: "user", content: "Weather in Paris?" }];
    const res = await ollama.chat({ model: "tools", messages, tools: [weatherTool], stream: false });
    const call = res.message.tool_calls?.[0];
    expect(call?.function.name).toBe("get_weather");
    expect(call?.function.arguments).toEqual({ city: "Paris" });
    expect(res.message.content).not.toContain("<tool_call>");

    const streamed = [];
    for await (const part of await ollama.chat({
      model: "tools",
      messages,
      tools: [weatherTool],
      stream: true,
    })) {
      streamed.push(...(part.message.tool_calls ?? []));
    }
    expect(streamed.map((c) => c.function.arguments)).toEqual([{ city: "Paris" }]);
  });

  it("answers 400 with Ollama's message when tools go to a model whose template cannot show them", async () => {
    const messages = [{ role: "user", content: "Weather in Paris?" }];
    const error = await ollama.chat({ model: "hello", messages, tools: [weatherTool] }).then(
      () => undefined,
      (e: unknown) => e as { status_code: number; error: string },
    );
    expect(error).toMatchObject({ status_code: 400, error: '"hello" does not support tools' });
    expect((await ollama.chat({ model: "hello", messages, tools: [] })).message.content).toBe("Hello world!");
  });

  it("feeds a tool result back", async () => {
    const res = await ollama.chat({
      model: "tools",
      tools: [weatherTool],
      stream: false,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: "",
          tool_calls: [{ function: { name: "get_weather", arguments: { city: "Paris" } } }],
        },
        { role: "tool", content: "sunny", tool_name: "get_weather" },
      ],
    });
    expect(res.done).toBe(true);
  });

  it("loads on empty messages", async () => {
    const res = await post("/api/chat", { model: "hello", messages: [] });
    expect(await res.json()).toMatchObject({
      done: true,
      done_reason: "load",
      message: { role: "assistant" },
    });
  });
});

describe("embeddings", () => {
  it("embeds a string or an array, with dimensions", async () => {
    const many = await ollama.embed({ model: "hello", input: ["one", "two"] });
    expect(many.embeddings).toHaveLength(2);
    expect(many.embeddings[0]!.length).toBeGreaterThan(0);
    expect(many.embeddings[0]!.length).toBe(many.embeddings[1]!.length);
    expect(many.prompt_eval_count).toBeGreaterThan(0);
    const one = await ollama.embed({ model: "hello", input: "one", dimensions: 16 });
    expect(one.embeddings).toHaveLength(1);
    expect(one.embeddings[0]).toHaveLength(16);
    const legacy = await ollama.embeddings({ model: "hello", prompt: "one" });
    expect(legacy.embedding.length).toBe(many.embeddings[0]!.length);
  });
});

describe("model management", () => {
  it("lists, shows, copies and deletes", async () => {
    const tags = await ollama.list();
    const hello = tags.models.find((m) => m.name === "hello:latest");
    expect(hello).toMatchObject({ model: "hello:latest", details: { family: "llama", format: "gguf" } });
    expect(hello!.size).toBeGreaterThan(0);
    expect(hello!.digest).toMatch(/^[0-9a-f]{64}$/);

    const shown = await ollama.show({ model: "hello" });
    expect(shown.details.family).toBe("llama");
    expect((shown.model_info as unknown as Record<string, unknown>)["general.architecture"]).toBe("llama");
    expect(shown.capabilities).toContain("completion");
    expect(shown.template.length).toBeGreaterThan(0);

    await ollama.copy({ source: "hello", destination: "hello-copy:v1" });
    expect((await ollama.list()).models.map((m) => m.name)).toContain("hello-copy:v1");
    await ollama.delete({ model: "hello-copy:v1" });
    expect((await ollama.list()).models.map((m) => m.name)).not.toContain("hello-copy:v1");
    await expect(ollama.delete({ model: "hello-copy:v1" })).rejects.toMatchObject({ status_code: 404 });
    const copyMissing = await post("/api/copy", { source: "missing", destination: "x" });
    expect(copyMissing.status).toBe(404);
  });

  it("reports loaded models in /api/ps", async () => {
    await ollama.generate({ model: "hello", prompt: "hi", stream: false });
    const ps = await ollama.ps();
    const hello = ps.models.find((m) => m.name === "hello:latest");
    expect(hello).toBeDefined();
    expect(hello!.size).toBeGreaterThan(0);
    expect((hello as unknown as { context_length: number }).context_length).toBeGreaterThan(0);
    expect(String(hello!.expires_at)).toMatch(RFC3339_NANO);
  });

  it("creates a model from an uploaded blob", async () => {
    const gguf = await readFile(await uploadModel());
    const digest = `sha256:${createHash("sha256").update(gguf).digest("hex")}`;
    const blobUrl = `${platform.url}/api/blobs/${digest}`;
    expect((await fetch(blobUrl, { method: "HEAD" })).status).toBe(404);

    const wrong = await fetch(`${platform.url}/api/blobs/sha256:${"0".repeat(64)}`, {
      method: "POST",
      body: gguf,
    });
    expect(wrong.status).toBe(400);
    expect(await wrong.json()).toEqual({ error: ANY_STRING });
    const badFormat = await fetch(`${platform.url}/api/blobs/sha256:..%2F..%2Fx`, {
      method: "POST",
      body: "x",
    });
    expect(badFormat.status).toBe(400);

    const uploaded = await fetch(blobUrl, { method: "POST", body: gguf });
    expect(uploaded.status).toBe(201);
    expect((await fetch(blobUrl, { method: "HEAD" })).status).toBe(200);

    // ollama-js passes `files` through to the server; its CreateRequest type just does not list it.
    const request = { model: "uploaded", files: { "model.gguf": digest }, stream: false } as CreateRequest & {
      stream: false;
    };
    const created = await ollama.create(request);
    expect(created.status).toBe("success");
    const res = await ollama.generate({ model: "uploaded", prompt: "hi", stream: false });
    expect(res.response).toBe("Uploaded");

    const streamed = await ndjson(
      await post("/api/create", { model: "uploaded2", files: { "model.gguf": digest } }),
    );
    expect(streamed.at(-1)).toEqual({ status: "success" });
    expect(streamed.length).toBeGreaterThan(1);

    const missingBlob = await post("/api/create", {
      model: "nothing",
      files: { "model.gguf": `sha256:${"1".repeat(64)}` },
      stream: false,
    });
    expect(missingBlob.status).toBeGreaterThanOrEqual(400);
    expect(missingBlob.status).toBeLessThan(500);

    // A template that cannot work is refused at create, not by every request to the model.
    for (const [template, why] of [
      ["{{ .Prompt | bogus }}", 'function "bogus" not defined'],
      ["{{ range .Messages }}", "unclosed {{range}}"],
      ["{% for %}", "template error"],
    ]) {
      const refused = await post("/api/create", {
        model: "bad-template",
        from: "hello",
        template,
        stream: false,
      });
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: string }).error).toContain(why);
    }
    expect((await ollama.list()).models.map((m) => m.name)).not.toContain("bad-template:latest");
    const good = await post("/api/create", {
      model: "good-template",
      from: "hello",
      template: "{{ .Prompt }}",
      stream: false,
    });
    expect(good.status).toBe(200);
  });
});

describe("client disconnect", () => {
  it("aborts generation: on a one-slot server the next request is served at once", async () => {
    // The tiny model decoded greedily never emits its end token, so this would run 2000 tokens.
    const options = { num_ctx: 2048, num_predict: 2000, temperature: 0 };
    const controller = new AbortController();
    const res = await fetch(`${platform.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", prompt: "hi", options }),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    expect(platform.deps.engine.stats().activeRequests).toBe(1);
    controller.abort();

    const started = performance.now();
    const next = await ollama.generate({
      model: "tiny",
      prompt: "hi",
      stream: false,
      options: { ...options, num_predict: 3 },
    });
    const waitedMs = performance.now() - started;
    expect(next.done_reason).toBe("length");
    expect(next.eval_count).toBe(3);
    // Had the abandoned generation kept its slot, this request would have waited for its
    // remaining ~2000 tokens. Compare with this machine's own per-token time, not a fixed limit.
    const perTokenMs = next.eval_duration / next.eval_count / 1e6;
    expect(waitedMs).toBeLessThan(500 * perTokenMs);
    expect(platform.deps.engine.stats().activeRequests).toBe(0);
  });
});
