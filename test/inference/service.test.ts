import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { createEngine } from "../../src/engine/create-engine.js";
import { traitsFromGguf } from "../../src/engine/inference/model-traits.js";
import { buildConversation, createInference, truncateEmbedding } from "../../src/engine/inference/service.js";
import type {
  ChatRequest,
  CompletionRequest,
  Inference,
  InferenceEvent,
} from "../../src/engine/inference/types.js";
import type { Engine } from "../../src/engine/types.js";
import { silentLogger } from "../../src/logger.js";
import { createModelStore, type LocalModelStore } from "../../src/models/store.js";
import { installModel, scriptedModel } from "../support/test-models.js";
import { QWEN_TOOL_TEMPLATE, WEATHER_TOOL } from "./fixtures.js";
import { rejectedAppError } from "../support/app-error.js";
import { testEngineOptions } from "../support/build.js";

const TOOL_SCRIPT = [
  "<tool_call>\n",
  '{"name": "get_weather", "arguments": {"city": "Paris"}}',
  "\n</tool_call>",
];

let home: string;
let engine: Engine;
let store: LocalModelStore;
let inference: Inference;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "aixcl-inference-"));
  const config = loadConfig({
    env: { AIXCL_HOME: home },
    readFile: false,
    // 1024: the tool-calling prompts (tool schemas in the prompt) take up to ~830 tokens.
    flags: { "engine.context_length": 1024, "engine.num_parallel": 1 },
  });
  const root = join(home, "models");
  const [hello, tool] = await Promise.all([
    scriptedModel("hello", ["Hello", " world", "!"]),
    scriptedModel("inference-tool-call", TOOL_SCRIPT, { chatTemplate: QWEN_TOOL_TEMPLATE }),
  ]);
  await installModel(root, "hello", hello);
  await installModel(root, "hello-stop", hello, { params: { stop: ["world"] } });
  await installModel(root, "hello-system", hello, { system: "Model system prompt" });
  await installModel(root, "broken-template", hello, { template: "{{ nosuchfunc }}" });
  await installModel(root, "tool", tool);
  store = createModelStore({ root });
  engine = createEngine({
    config,
    logger: silentLogger(),
    ...testEngineOptions(),
  });
  inference = createInference({ engine, store, config, logger: silentLogger() });
});

afterAll(async () => {
  await engine?.close();
  await store?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

function chatRequest(model: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return {
    model,
    messages: [{ role: "user", content: "Weather in Paris?" }],
    sampling: { temperature: 0 },
    load: {},
    ...extra,
  };
}

async function collect(events: AsyncIterable<InferenceEvent>) {
  const all: InferenceEvent[] = [];
  for await (const event of events) all.push(event);
  const text = all.flatMap((e) => (e.type === "text" ? [e.text] : [])).join("");
  const toolEvents = all.filter((e) => e.type === "tool_calls");
  const done = all.at(-1);
  if (done?.type !== "done") throw new Error("stream did not end with done");
  return { all, text, toolEvents, done };
}

describe("inference service on the real engine", () => {
  it("turns a <tool_call> output into one tool_calls event", async () => {
    const result = await collect(inference.chat(chatRequest("tool", { tools: [WEATHER_TOOL] })));
    expect(result.toolEvents).toHaveLength(1);
    const [event] = result.toolEvents;
    expect(event?.type === "tool_calls" && event.calls).toEqual([
      { id: expect.stringMatching(/^call_/) as unknown, name: "get_weather", arguments: { city: "Paris" } },
    ]);
    expect(result.text).toBe("");
    expect(result.done.type === "done" && result.done.model.name).toBe("tool:latest");
    expect(result.done.type === "done" && result.done.stats.evalTokens).toBeGreaterThan(0);
  });

  it("leaves the output as text when tool_choice is none", async () => {
    const result = await collect(
      inference.chat(chatRequest("tool", { tools: [WEATHER_TOOL], toolChoice: "none" })),
    );
    expect(result.toolEvents).toHaveLength(0);
    expect(result.text).toBe(TOOL_SCRIPT.join(""));
  });

  it("forces a call to the named tool with a JSON-schema grammar", async () => {
    const getTime = {
      name: "get_time",
      parameters: { type: "object", properties: { utc: { type: "boolean" } }, required: ["utc"] },
    };
    // Unconstrained, this model writes "<tool_call>..." naming get_weather; the grammar overrides it.
    const result = await collect(
      inference.chat(
        chatRequest("tool", { tools: [WEATHER_TOOL, getTime], toolChoice: { name: "get_time" } }),
      ),
    );
    expect(result.text).toBe("");
    expect(result.toolEvents).toHaveLength(1);
    const [event] = result.toolEvents;
    const calls = event?.type === "tool_calls" ? event.calls : [];
    expect(calls.map((c) => c.name)).toEqual(["get_time"]);
    expect(typeof calls[0]?.arguments.utc).toBe("boolean");

    const unknown = await rejectedAppError(
      inference.chat(chatRequest("tool", { tools: [WEATHER_TOOL], toolChoice: { name: "nope" } })).next(),
    );
    expect(unknown.code).toBe("invalid_request");
    expect(
      (await rejectedAppError(inference.chat(chatRequest("tool", { toolChoice: "required" })).next())).code,
    ).toBe("invalid_request");
  });

  it("applies the model's params layer stop list unless the request sets stop", async () => {
    expect((await collect(inference.chat(chatRequest("hello")))).text).toBe("Hello world!");
    expect((await collect(inference.chat(chatRequest("hello-stop")))).text).toBe("Hello ");
    const overridden = await collect(
      inference.chat(chatRequest("hello-stop", { sampling: { stop: ["!"] } })),
    );
    expect(overridden.text).toBe("Hello world");
  });

  it("completes raw prompts and returns the context", async () => {
    const request: CompletionRequest = { model: "hello", prompt: "Hi", raw: true, sampling: {}, load: {} };
    const result = await collect(inference.complete(request));
    expect(result.text).toBe("Hello world!");
    expect(result.done.type === "done" && result.done.stats.context.length).toBeGreaterThan(0);
  });

  it("rejects unknown models, insert without template support and broken templates before output", async () => {
    expect((await rejectedAppError(inference.chat(chatRequest("no-such-model")).next())).code).toBe(
      "model_not_found",
    );
    const insert = await rejectedAppError(
      inference
        .complete({ model: "hello", prompt: "a", suffix: "b", raw: false, sampling: {}, load: {} })
        .next(),
    );
    expect(insert.code).toBe("invalid_request");
    expect(insert.message).toBe('"hello" does not support insert');
    const broken = await rejectedAppError(inference.chat(chatRequest("broken-template")).next());
    expect(broken.code).toBe("invalid_request");
    expect(broken.message).toMatch(/^template error: /);
  });

  it("embeds with dimensions truncated and renormalized", async () => {
    const result = await inference.embed({
      model: "hello",
      input: ["Hello", "world"],
      truncate: true,
      dimensions: 8,
      load: {},
    });
    expect(result.model.name).toBe("hello:latest");
    expect(result.embeddings).toHaveLength(2);
    for (const vector of result.embeddings) {
      expect(vector).toHaveLength(8);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    expect(
      (
        await rejectedAppError(
          inference.embed({ model: "hello", input: ["x"], truncate: true, dimensions: 0, load: {} }),
        )
      ).code,
    ).toBe("invalid_request");
  });

  it("loads and unloads models", async () => {
    const loaded = await inference.load("hello-system", {});
    expect(loaded.model.name).toBe("hello-system:latest");
    expect(loaded.totalNs).toBeGreaterThanOrEqual(loaded.loadNs);
    expect(engine.loaded().map((m) => m.model.name)).toContain("hello-system:latest");
    const unloaded = await inference.unload("hello-system");
    expect(unloaded.model.name).toBe("hello-system:latest");
    await expect.poll(() => engine.loaded().map((m) => m.model.name)).not.toContain("hello-system:latest");
  });
});

describe("helpers", () => {
  it("reads template, BOS/EOS and embedding-only facts from GGUF metadata", () => {
    const traits = traitsFromGguf({
      architecture: "bert",
      metadata: {
        "tokenizer.ggml.tokens": ["[PAD]", "[CLS]", "[SEP]"],
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
        "tokenizer.ggml.model": "bert",
        "bert.pooling_type": 2,
        "bert.context_length": 512,
      },
    });
    expect(traits).toEqual({
      chatTemplate: undefined,
      bosToken: "[CLS]",
      eosToken: "[SEP]",
      addBos: false,
      embeddingOnly: true,
      trainedContext: 512,
    });
  });

  it("puts the model's system prompt and preset messages before the request's, unless it has a system message", async () => {
    const model = { ...(await store.get("hello-system")), messages: [{ role: "user", content: "preset" }] };
    expect(buildConversation(model, [{ role: "user", content: "hi" }])).toEqual([
      { role: "system", content: "Model system prompt" },
      { role: "user", content: "preset" },
      { role: "user", content: "hi" },
    ]);
    expect(
      buildConversation(model, [
        { role: "system", content: "request system" },
        { role: "user", content: "hi" },
      ]),
    ).toEqual([
      { role: "system", content: "request system" },
      { role: "user", content: "preset" },
      { role: "user", content: "hi" },
    ]);
  });

  it("truncates embeddings to unit length", () => {
    expect(truncateEmbedding([3, 4, 12], 2)).toEqual([0.6, 0.8]);
    expect(truncateEmbedding([1, 2], 5)).toEqual([1, 2]);
  });
});
