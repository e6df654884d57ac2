/**
 * Conversations longer than num_ctx, through the published `ollama` and `openai` clients: the
 * oldest turns go, the system prompt and the newest message stay (the scripted model's answer
 * shows the system prompt was in the prompt the server ran, and the server's debug log says how
 * many messages it dropped); a message too large for the context is a 400 with a stable code.
 */
import { Ollama, type Message } from "ollama";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogTail } from "../../src/lib/log-tail.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { systemLastModel } from "../support/scripted-models.js";

const NUM_CTX = 256;
const tail = createLogTail({ capacity: 2000 });
let platform: TestPlatform;
let ollama: Ollama;

beforeAll(async () => {
  platform = await startTestPlatform({
    flags: { profile: "core", "engine.context_length": NUM_CTX, "engine.num_parallel": 1 },
    models: [{ name: "sys", gguf: await systemLastModel() }],
    logTail: tail,
  });
  ollama = new Ollama({ host: platform.url });
});

afterAll(async () => {
  await platform?.close();
});

/** `droppedMessages` of the server's latest "chat prompt rendered" debug line. */
function lastDropped(): number | undefined {
  const line = tail
    .lines()
    .map((l) => JSON.parse(l.text) as { msg?: string; droppedMessages?: number })
    .filter((l) => l.msg === "chat prompt rendered")
    .at(-1);
  return line?.droppedMessages;
}

const question = (i: number) => `Question number ${i}: ${"tell me more ".repeat(5)}`;

describe("chat beyond num_ctx", () => {
  it("keeps answering a 20-turn chat, with the system prompt in every prompt it runs", async () => {
    const messages: Message[] = [{ role: "system", content: "@" }];
    let historyChars = 0;
    for (let i = 1; i <= 20; i++) {
      messages.push({ role: "user", content: question(i) });
      const reply = await ollama.chat({ model: "sys", messages, options: { temperature: 0 } });
      // " Beta Gamma" follows only from the system prompt's "@" at the prompt's end.
      expect(reply.message.content).toBe(" Beta Gamma");
      expect(reply.done_reason).toBe("stop");
      expect(reply.prompt_eval_count).toBeLessThan(NUM_CTX);
      messages.push({ role: "assistant", content: reply.message.content });
      historyChars += question(i).length;
    }
    // The history is several times the context (each character is at least one token here)...
    expect(historyChars).toBeGreaterThan(4 * NUM_CTX);
    // ...so the server dropped its oldest turns, and says so.
    expect(lastDropped()).toBeGreaterThan(20);
  });

  it("refuses with truncate false instead of dropping turns", async () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ role: "user", content: question(i) }));
    const response = await fetch(`${platform.url}/api/chat`, {
      method: "POST",
      body: JSON.stringify({ model: "sys", messages, truncate: false, stream: false }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(
      /more than the context of 256 tokens/,
    );
  });

  it("answers 400 context_length_exceeded for one message larger than the context", async () => {
    const huge = "word ".repeat(NUM_CTX);
    const error = await ollama.chat({ model: "sys", messages: [{ role: "user", content: huge }] }).then(
      () => undefined,
      (e: unknown) => e as { status_code: number; error: string },
    );
    expect(error?.status_code).toBe(400);
    expect(error?.error).toMatch(/context of 256 tokens/);
    const openai = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: "unused", maxRetries: 0 });
    const openaiError = await openai.chat.completions
      .create({ model: "sys", messages: [{ role: "user", content: huge }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(openaiError).toBeInstanceOf(OpenAI.BadRequestError);
    expect((openaiError as InstanceType<typeof OpenAI.BadRequestError>).code).toBe("context_length_exceeded");
  });
});

describe("/api/generate with context beyond num_ctx", () => {
  it("keeps answering 20 continuations, dropping the oldest context tokens", async () => {
    let context: number[] | undefined;
    for (let i = 1; i <= 20; i++) {
      const reply = await ollama.generate({
        model: "sys",
        system: "@",
        prompt: question(i),
        context,
        options: { temperature: 0 },
      });
      expect(reply.response).toBe(" Beta Gamma");
      expect(reply.prompt_eval_count).toBeLessThan(NUM_CTX);
      // Once the context overflows, its newest tokens fill what the new prompt leaves (up to a
      // quarter kept for the answer), not the half the runner falls back to.
      if (i > 5) expect(reply.prompt_eval_count).toBeGreaterThan(NUM_CTX / 2);
      context = reply.context;
    }
    expect(context!.length).toBeLessThan(NUM_CTX);

    const refused = await fetch(`${platform.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "sys", prompt: question(21), context, truncate: false, stream: false }),
    });
    expect(refused.status).toBe(400);
    const tooLong = await ollama.generate({ model: "sys", prompt: "word ".repeat(NUM_CTX) }).then(
      () => undefined,
      (e: unknown) => e as { status_code: number; error: string },
    );
    expect(tooLong?.status_code).toBe(400);
  });
});
