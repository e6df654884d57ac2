import { describe, expect, it } from "vitest";
import { chatCompletionRequestSchema } from "../../src/api/openai/chat.js";
import { completionRequestSchema } from "../../src/api/openai/completions.js";
import { AppError, ERROR_STATUS, type ErrorCode } from "../../src/errors.js";
import { float32Base64 } from "../../src/server/routes/openai/embeddings.js";
import { toOpenAIError } from "../../src/server/routes/openai/errors.js";
import { toChatRequest, toCompletionRequest } from "../../src/server/routes/openai/mapping.js";
import { parseBody } from "../../src/server/routes/openai/validate.js";
import { thrownAppError } from "../support/app-error.js";

const signal = new AbortController().signal;
const chat = (body: Record<string, unknown>) =>
  toChatRequest(parseBody(chatCompletionRequestSchema, { model: "m", ...body }), signal);

describe("OpenAI chat request mapping", () => {
  it("maps roles, content parts, images and earlier tool calls", () => {
    const png = Buffer.from("not really a png").toString("base64");
    const request = chat({
      messages: [
        { role: "developer", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "first" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
            { type: "text", text: "second" },
            { type: "image_url", image_url: `data:;base64,${png}` },
          ],
        },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_9",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Oslo"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_9", content: "cold" },
      ],
    });
    expect(request.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "first\nsecond", images: [png, png] },
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "call_9", name: "get_weather", arguments: { city: "Oslo" } }],
      },
      // The tool's name is recovered from the call id, for templates that show it.
      { role: "tool", content: "cold", toolCallId: "call_9", toolName: "get_weather" },
    ]);
  });

  it("maps sampling fields with OpenAI's defaults, and max_completion_tokens over max_tokens", () => {
    const defaults = chat({ messages: [{ role: "user", content: "x" }] });
    expect(defaults.sampling).toEqual({ temperature: 1, topP: 1 });
    const request = chat({
      messages: [{ role: "user", content: "x" }],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 50,
      max_completion_tokens: 7,
      seed: 42,
      frequency_penalty: 0.5,
      presence_penalty: -0.5,
      stop: ["END", ""],
      n: 1,
      user: "someone",
    });
    expect(request.sampling).toEqual({
      temperature: 0.2,
      topP: 0.9,
      maxTokens: 7,
      seed: 42,
      frequencyPenalty: 0.5,
      presencePenalty: -0.5,
      stop: ["END"],
    });
    expect(chat({ messages: [{ role: "user", content: "x" }], stop: "\n" }).sampling.stop).toEqual(["\n"]);
    expect(request.signal).toBe(signal);
  });

  it("maps tools, tool_choice and response_format", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
    const base = { messages: [{ role: "user", content: "x" }], tools };
    expect(chat(base)).toMatchObject({ tools: [{ name: "f", parameters: { type: "object" } }] });
    expect(chat(base).toolChoice).toBeUndefined();
    expect(chat({ ...base, tool_choice: "required" }).toolChoice).toBe("required");
    expect(chat({ ...base, tool_choice: "none" }).toolChoice).toBe("none");
    expect(chat({ ...base, tool_choice: { type: "function", function: { name: "f" } } }).toolChoice).toEqual({
      name: "f",
    });
    const schema = { type: "object", properties: { a: { type: "number" } } };
    const msgs = { messages: [{ role: "user", content: "x" }] };
    expect(chat({ ...msgs, response_format: { type: "json_object" } }).format).toEqual({ type: "json" });
    expect(
      chat({
        ...msgs,
        response_format: { type: "json_schema", json_schema: { name: "a", schema, strict: true } },
      }).format,
    ).toEqual({ type: "json_schema", schema });
    expect(chat({ ...msgs, response_format: { type: "text" } }).format).toBeUndefined();
  });

  it("refuses what it cannot do, naming the field", () => {
    const msgs = { messages: [{ role: "user", content: "x" }] };
    expect(thrownAppError(() => chat({ ...msgs, n: 2 })).param).toBe("n");
    expect(thrownAppError(() => chat({ ...msgs, logprobs: true })).param).toBe("logprobs");
    expect(thrownAppError(() => chat({ ...msgs, tool_choice: "required" })).param).toBe("tool_choice");
    expect(thrownAppError(() => chat({ messages: [{ role: "user" }] })).param).toBe("messages[0].content");
    expect(thrownAppError(() => chat({ messages: [] })).param).toBe("messages");
    const missing = thrownAppError(() => parseBody(chatCompletionRequestSchema, msgs));
    expect(missing.param).toBe("model");
    expect(missing.message).toBe("invalid request: model is required");
    expect(thrownAppError(() => parseBody(chatCompletionRequestSchema, [1, 2])).code).toBe("invalid_request");
  });

  it("maps completions: raw unless a suffix asks for the template", () => {
    const complete = (body: Record<string, unknown>) =>
      toCompletionRequest(parseBody(completionRequestSchema, { model: "m", ...body }), signal);
    expect(complete({ prompt: "abc", max_tokens: 3 })).toMatchObject({
      prompt: "abc",
      raw: true,
      sampling: { maxTokens: 3 },
    });
    expect(complete({ prompt: ["abc"], suffix: "xyz" })).toMatchObject({
      prompt: "abc",
      raw: false,
      suffix: "xyz",
    });
    expect(complete({ prompt: "abc", echo: false, logprobs: null, best_of: 1 }).prompt).toBe("abc");
    expect(thrownAppError(() => complete({ prompt: "abc", echo: true })).param).toBe("echo");
    expect(thrownAppError(() => complete({ prompt: "abc", logprobs: 2 })).param).toBe("logprobs");
    expect(thrownAppError(() => complete({ prompt: [] })).param).toBe("prompt");
  });
});

describe("OpenAI error shape", () => {
  it("gives every error code a status and one of OpenAI's types", () => {
    const types = new Set([
      "invalid_request_error",
      "authentication_error",
      "permission_error",
      "not_found_error",
      "rate_limit_error",
      "server_error",
    ]);
    for (const code of Object.keys(ERROR_STATUS) as ErrorCode[]) {
      const { status, body } = toOpenAIError(new AppError(code, "boom"));
      expect(status).toBe(ERROR_STATUS[code]);
      expect(types.has(body.error.type)).toBe(true);
      expect(body.error.message).toBe("boom");
    }
  });

  it("uses OpenAI's spellings where clients look for them", () => {
    expect(toOpenAIError(new AppError("model_not_found", "model 'x' not found")).body.error).toEqual({
      message: "model 'x' not found",
      type: "not_found_error",
      param: null,
      code: "model_not_found",
    });
    expect(toOpenAIError(new AppError("unauthorized", "no key")).body.error).toMatchObject({
      type: "authentication_error",
      code: "invalid_api_key",
    });
    expect(toOpenAIError(new AppError("queue_full", "busy", { retryAfter: 2 }))).toMatchObject({
      status: 503,
      body: { error: { type: "server_error", code: "queue_full" } },
    });
    expect(toOpenAIError(new AppError("invalid_request", "bad", { param: "n" })).body.error.param).toBe("n");
  });
});

describe("base64 embeddings", () => {
  it("are little-endian float32 bytes", () => {
    const encoded = float32Base64([1, -2.5, 0.1]);
    const bytes = Buffer.from(encoded, "base64");
    expect(bytes.length).toBe(12);
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4), bytes.readFloatLE(8)]).toEqual([
      1,
      -2.5,
      Math.fround(0.1),
    ]);
    expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0x00, 0x00, 0x80, 0x3f]));
  });
});
