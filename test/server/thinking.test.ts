/**
 * Thinking models end to end through the published `ollama` and `openai` clients: reasoning split
 * from the answer (streaming and not) on /api/chat, /api/generate and /v1/chat/completions, the
 * 400 for a model that does not think, and the `thinking` capability in /api/show. The scripted
 * models' output is known, so the split is checked to the character.
 */
import { Ollama } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import {
  helloModel,
  QWEN3_ANSWER,
  qwen3JsonModel,
  QWEN3_THINKING,
  qwen3ThinkingModel,
  R1_ANSWER,
  R1_THINKING,
  r1JsonModel,
  r1SplitTagJsonModel,
  r1ThinkingModel,
  THINKING_JSON,
} from "../support/scripted-models.js";

let platform: TestPlatform;
let ollama: Ollama;
let openai: OpenAI;

beforeAll(async () => {
  const [hello, qwen3, r1, r1Json, r1SplitJson, qwen3Json] = await Promise.all([
    helloModel(),
    qwen3ThinkingModel(),
    r1ThinkingModel(),
    r1JsonModel(),
    r1SplitTagJsonModel(),
    qwen3JsonModel(),
  ]);
  platform = await startTestPlatform({
    flags: { profile: "core", "engine.context_length": 512, "engine.num_parallel": 1 },
    models: [
      { name: "hello", gguf: hello },
      { name: "qwen3", gguf: qwen3 },
      { name: "r1", gguf: r1 },
      { name: "r1-json", gguf: r1Json },
      { name: "r1-json-split", gguf: r1SplitJson },
      { name: "qwen3-json", gguf: qwen3Json },
    ],
  });
  ollama = new Ollama({ host: platform.url });
  openai = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  await platform?.close();
});

const ask = [{ role: "user", content: "Which?" }];

describe("/api/chat", () => {
  it("returns the reasoning in message.thinking, apart from the content (think absent = on)", async () => {
    const qwen = await ollama.chat({ model: "qwen3", messages: ask });
    expect(qwen.message.thinking).toBe(QWEN3_THINKING + "\n");
    expect(qwen.message.content).toBe(QWEN3_ANSWER);
    const r1 = await ollama.chat({ model: "r1", messages: ask, think: true });
    expect(r1.message.thinking).toBe(R1_THINKING);
    expect(r1.message.content).toBe(R1_ANSWER);
  });

  it("streams thinking chunks first, then content chunks, none carrying both", async () => {
    for (const [model, thinking, answer] of [
      ["qwen3", QWEN3_THINKING + "\n", QWEN3_ANSWER],
      ["r1", R1_THINKING, R1_ANSWER],
    ] as const) {
      const chunks = [];
      for await (const chunk of await ollama.chat({ model, messages: ask, stream: true })) chunks.push(chunk);
      const withThinking = chunks.filter((c) => c.message.thinking);
      const withContent = chunks.filter((c) => c.message.content);
      // Pieces a busy consumer has not taken yet are joined (scheduler-stream.ts), so the number
      // of chunks varies; splitting across piece boundaries is thinking.test.ts's subject.
      expect(withThinking.length).toBeGreaterThan(0);
      expect(withThinking.map((c) => c.message.thinking).join("")).toBe(thinking);
      expect(withContent.map((c) => c.message.content).join("")).toBe(answer);
      expect(withThinking.every((c) => c.message.content === "")).toBe(true);
      expect(chunks.indexOf(withThinking.at(-1)!)).toBeLessThan(chunks.indexOf(withContent[0]!));
      expect(chunks.at(-1)!.done).toBe(true);
    }
  });

  it("with think false: no thinking field and no reasoning in the content", async () => {
    for (const [model, answer] of [
      ["qwen3", QWEN3_ANSWER],
      ["r1", R1_ANSWER],
    ] as const) {
      const reply = await ollama.chat({ model, messages: ask, think: false });
      expect(reply.message.thinking).toBeUndefined();
      expect(reply.message.content).toBe(answer);
    }
  });

  it("answers 400 with Ollama's message when a model without thinking is asked to think", async () => {
    for (const think of [true, "high"] as const) {
      const error = await ollama.chat({ model: "hello", messages: ask, think }).then(
        () => undefined,
        (e: unknown) => e as { status_code: number; error: string },
      );
      expect(error?.status_code).toBe(400);
      expect(error?.error).toBe('"hello" does not support thinking');
    }
    const plain = await ollama.chat({ model: "hello", messages: ask, think: false });
    expect(plain.message.content).toBe("Hello world!");
    expect(plain.message.thinking).toBeUndefined();
  });

  it("names the values think and format take when given another", async () => {
    const refusal = async (body: Record<string, unknown>) => {
      const response = await fetch(`${platform.url}/api/chat`, {
        method: "POST",
        body: JSON.stringify({ model: "r1", messages: ask, stream: false, ...body }),
      });
      expect(response.status).toBe(400);
      return ((await response.json()) as { error: string }).error;
    };
    expect(await refusal({ think: "bogus" })).toBe(
      'invalid request: think: must be true, false, "high", "medium" or "low"',
    );
    expect(await refusal({ format: "xml" })).toBe(
      'invalid request: format: must be "json" or a JSON schema object',
    );
  });
});

describe("/api/generate", () => {
  it("returns the reasoning in `thinking`, streaming and not", async () => {
    const whole = await ollama.generate({ model: "r1", prompt: "Which?" });
    expect(whole.thinking).toBe(R1_THINKING);
    expect(whole.response).toBe(R1_ANSWER);
    let thinking = "";
    let response = "";
    for await (const chunk of await ollama.generate({ model: "qwen3", prompt: "Which?", stream: true })) {
      thinking += chunk.thinking ?? "";
      response += chunk.response;
    }
    expect(thinking).toBe(QWEN3_THINKING + "\n");
    expect(response).toBe(QWEN3_ANSWER);
  });

  it("answers 400 for think on a model without thinking", async () => {
    const error = await ollama.generate({ model: "hello", prompt: "x", think: true }).then(
      () => undefined,
      (e: unknown) => e as { status_code: number; error: string },
    );
    expect(error?.status_code).toBe(400);
    expect(error?.error).toBe('"hello" does not support thinking');
  });
});

describe("/v1/chat/completions", () => {
  type Reasoning = { reasoning_content?: string; reasoning?: string };
  const user = [{ role: "user" as const, content: "Which?" }];

  it("puts the reasoning in reasoning_content (and Ollama's `reasoning`), the answer in content", async () => {
    const completion = await openai.chat.completions.create({ model: "r1", messages: user });
    const message = completion.choices[0]!.message as (typeof completion.choices)[0]["message"] & Reasoning;
    expect(message.content).toBe(R1_ANSWER);
    expect(message.reasoning_content).toBe(R1_THINKING);
    expect(message.reasoning).toBe(R1_THINKING);
  });

  it("streams reasoning deltas before content deltas", async () => {
    const stream = await openai.chat.completions.create({ model: "qwen3", messages: user, stream: true });
    let reasoning = "";
    let content = "";
    let contentStarted = false;
    for await (const chunk of stream) {
      const delta: (Reasoning & { content?: string | null }) | undefined = chunk.choices[0]?.delta;
      if (delta?.reasoning_content) {
        expect(contentStarted).toBe(false);
        reasoning += delta.reasoning_content;
      }
      if (delta?.content) {
        contentStarted = true;
        content += delta.content;
      }
    }
    expect(reasoning).toBe(QWEN3_THINKING + "\n");
    expect(content).toBe(QWEN3_ANSWER);
  });

  it("maps reasoning_effort: none turns thinking off; a model without thinking answers 400", async () => {
    const off = await openai.chat.completions.create({
      model: "qwen3",
      messages: user,
      reasoning_effort: "none",
    });
    expect(off.choices[0]!.message.content).toBe(QWEN3_ANSWER);
    expect((off.choices[0]!.message as Reasoning).reasoning_content).toBeUndefined();
    const error = await openai.chat.completions
      .create({ model: "hello", messages: user, reasoning_effort: "high" })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain(
      '"hello" does not support thinking',
    );
  });
});

/**
 * A format constrains the answer only, as in Ollama: the reasoning is free text, and the JSON is
 * whole in the content. Under a grammar from the first token the scripted reasoning is refused, so
 * the output would be whatever the grammar let through, not this.
 */
describe("format on a thinking model", () => {
  const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"] };
  const user = [{ role: "user" as const, content: "Which?" }];
  type Reasoning = { reasoning_content?: string; reasoning?: string };

  it("/api/chat: reasoning in message.thinking, the schema's or plain JSON in content", async () => {
    for (const [model, thinking] of [
      ["r1-json", R1_THINKING],
      ["r1-json-split", R1_THINKING],
      ["qwen3-json", QWEN3_THINKING + "\n"],
    ] as const) {
      for (const format of [schema, "json"]) {
        const reply = await ollama.chat({ model, messages: ask, think: true, format });
        expect(reply.message.thinking).toBe(thinking);
        expect(JSON.parse(reply.message.content)).toEqual(THINKING_JSON);
      }
    }
  });

  it("/api/chat streaming: thinking chunks, then the JSON as content", async () => {
    let thinking = "";
    let content = "";
    for await (const chunk of await ollama.chat({
      model: "r1-json",
      messages: ask,
      format: schema,
      stream: true,
    })) {
      thinking += chunk.message.thinking ?? "";
      content += chunk.message.content;
    }
    expect(thinking).toBe(R1_THINKING);
    expect(JSON.parse(content)).toEqual(THINKING_JSON);
  });

  it("think false on a template that opens the thinking block: the reasoning is dropped, the JSON kept", async () => {
    const reply = await ollama.chat({ model: "r1-json", messages: ask, think: false, format: schema });
    expect(reply.message.thinking).toBeUndefined();
    expect(JSON.parse(reply.message.content)).toEqual(THINKING_JSON);
  });

  it("/api/generate: reasoning in `thinking`, JSON in `response`", async () => {
    const reply = await ollama.generate({ model: "r1-json", prompt: "Which?", format: "json" });
    expect(reply.thinking).toBe(R1_THINKING);
    expect(JSON.parse(reply.response ?? "")).toEqual(THINKING_JSON);
  });

  it("/v1/chat/completions: response_format json_schema and json_object", async () => {
    for (const response_format of [
      { type: "json_schema" as const, json_schema: { name: "a", strict: true, schema } },
      { type: "json_object" as const },
    ]) {
      const completion = await openai.chat.completions.create({
        model: "r1-json",
        messages: user,
        response_format,
      });
      const message = completion.choices[0]!.message as (typeof completion.choices)[0]["message"] & Reasoning;
      expect(message.reasoning_content).toBe(R1_THINKING);
      expect(JSON.parse(message.content!)).toEqual(THINKING_JSON);
    }
  });
});

describe("/api/show", () => {
  it("lists the thinking capability for thinking templates only", async () => {
    expect((await ollama.show({ model: "qwen3" })).capabilities).toContain("thinking");
    expect((await ollama.show({ model: "r1" })).capabilities).toContain("thinking");
    expect((await ollama.show({ model: "hello" })).capabilities).not.toContain("thinking");
  });
});
