import { describe, expect, it } from "vitest";
import { fitContext, fitConversation, type FitOptions } from "../../src/engine/inference/context-fit.js";
import type { ChatMessage } from "../../src/engine/inference/types.js";
import { AppError } from "../../src/errors.js";

/** One token per character: exact, so the expected cut can be worked out by hand. */
const count = (text: string) => Promise.resolve(text.length);
const render = (messages: readonly ChatMessage[]) =>
  messages.map((m) => `${m.role[0]}:${m.content};`).join("");

function options(contextLength: number, extra: Partial<FitOptions> = {}): FitOptions {
  return { contextLength, truncate: true, maxTokens: undefined, count, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

const turn = (i: number): ChatMessage[] => [
  { role: "user", content: `question ${i} `.padEnd(30, ".") },
  { role: "assistant", content: `answer ${i} `.padEnd(30, ".") },
];

describe("fitConversation", () => {
  it("leaves a conversation that fits alone", async () => {
    const messages: ChatMessage[] = [{ role: "system", content: "S" }, ...turn(1)];
    expect(await fitConversation(messages, render, options(1000))).toEqual({
      prompt: render(messages),
      dropped: 0,
    });
  });

  it("drops the oldest turns, keeping every system message and the newest message", async () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "first system" },
      ...turn(1),
      { role: "system", content: "second system" },
      ...turn(2),
      ...turn(3),
      ...turn(4),
      { role: "user", content: "newest" },
    ];
    // 300 tokens, a quarter kept free for the answer: 225 for the prompt.
    const { prompt, dropped } = await fitConversation(messages, render, options(300));
    expect(prompt.length).toBeLessThanOrEqual(225);
    expect(prompt.startsWith("s:first system;s:second system;")).toBe(true);
    expect(prompt.endsWith("u:newest;")).toBe(true);
    // The longest tail that fits: turns 3 and 4 (66 tokens each) with both system messages (31).
    expect(prompt).toContain("question 3");
    expect(prompt).not.toContain("answer 2");
    expect(dropped).toBe(4);
  });

  it("never separates a tool call from its results", async () => {
    const call: ChatMessage = {
      role: "assistant",
      content: "",
      toolCalls: [{ id: "c1", name: "lookup", arguments: {} }],
    };
    const result = (n: number): ChatMessage => ({
      role: "tool",
      content: `result ${n} `.padEnd(40, "."),
      toolName: "lookup",
    });
    const messages: ChatMessage[] = [
      ...turn(1),
      { role: "user", content: "look it up" },
      call,
      result(1),
      result(2),
    ];
    for (const contextLength of [140, 160, 200, 240, 280]) {
      const { prompt } = await fitConversation(messages, render, options(contextLength));
      // The tail kept starts at a user turn: the call and both results stay together.
      expect(prompt).toContain("u:look it up;a:;");
      expect(prompt.endsWith(render([result(1), result(2)]))).toBe(true);
    }
  });

  it("refuses a newest message that cannot fit with the system prompt, with a stable code", async () => {
    const messages: ChatMessage[] = [
      { role: "system", content: "S" },
      ...turn(1),
      { role: "user", content: "x".repeat(500) },
    ];
    const error = await failure(fitConversation(messages, render, options(300)));
    expect(error.code).toBe("context_length_exceeded");
    expect(error.status).toBe(400);
    expect(error.message).toContain("the newest message with the system prompt");
    // Without a system prompt the message does not speak of one.
    const alone = await failure(fitConversation(messages.slice(1), render, options(300)));
    expect(alone.message).toMatch(/^the newest message is \d+ tokens/);
    expect(alone.message).not.toContain("system prompt");
  });

  it("with truncate false refuses a history that does not fit instead of dropping turns", async () => {
    const messages = [...turn(1), ...turn(2), ...turn(3), { role: "user" as const, content: "q" }];
    const error = await failure(fitConversation(messages, render, options(100, { truncate: false })));
    expect(error.code).toBe("context_length_exceeded");
    const fitted = await fitConversation(messages, render, options(100));
    expect(fitted.dropped).toBeGreaterThan(0);
  });
});

describe("fitContext", () => {
  it("drops the oldest context tokens and keeps the new prompt whole", async () => {
    const context = Array.from({ length: 300 }, (_, i) => i);
    const kept = await fitContext(context, "p".repeat(50), options(200));
    // 200 - 50 (a quarter for the answer) - 50 (the prompt) = 100 newest context tokens.
    expect(kept).toEqual(context.slice(-100));
    expect(await fitContext(context.slice(0, 10), "short", options(200))).toEqual(context.slice(0, 10));
  });

  it("refuses when truncate is false or the prompt alone is too long", async () => {
    const context = Array.from({ length: 300 }, (_, i) => i);
    expect((await failure(fitContext(context, "p", options(200, { truncate: false })))).code).toBe(
      "context_length_exceeded",
    );
    expect((await failure(fitContext([], "p".repeat(300), options(200)))).code).toBe(
      "context_length_exceeded",
    );
  });
});
