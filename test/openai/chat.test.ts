import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../support/platform.js";
import { helloModel, jsonModel, toolModel, WEATHER_TOOL } from "../support/scripted-models.js";

type Platform = Awaited<ReturnType<typeof startTestPlatform>>;

const weatherTool: OpenAI.Chat.Completions.ChatCompletionTool = WEATHER_TOOL;

describe("/v1/chat/completions", () => {
  let platform: Platform;
  let client: OpenAI;

  beforeAll(async () => {
    const [hello, tools, json] = await Promise.all([helloModel(), toolModel(), jsonModel()]);
    platform = await startTestPlatform({
      flags: { profile: "core", "engine.context_length": 512, "engine.num_parallel": 1 },
      models: [
        { name: "hello", gguf: hello },
        { name: "tools", gguf: tools },
        { name: "json", gguf: json },
      ],
    });
    client = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("answers non-streaming with the model's text, finish_reason and usage", async () => {
    const completion = await client.chat.completions.create({
      model: "hello",
      messages: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "text", text: "Say" },
            { type: "text", text: "hello" },
          ],
        },
      ],
      user: "ignored",
    });
    expect(completion.object).toBe("chat.completion");
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.model).toBe("hello");
    expect(completion.system_fingerprint).toBeTypeOf("string");
    expect(completion.created).toBeGreaterThan(1_600_000_000);
    expect(completion.choices).toHaveLength(1);
    const choice = completion.choices[0]!;
    expect(choice.message.role).toBe("assistant");
    expect(choice.message.content).toBe("Hello world!");
    expect(choice.message.tool_calls).toBeUndefined();
    expect(choice.finish_reason).toBe("stop");
    const usage = completion.usage!;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    // Three script pieces and the end-of-turn token.
    expect(usage.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it("streams chunks: role first, the text, a finish chunk, then usage when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "hello",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);

    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const withChoices = chunks.filter((c) => c.choices.length > 0);
    const text = withChoices.map((c) => c.choices[0]!.delta.content ?? "").join("");
    expect(text).toBe("Hello world!");
    const finishes = withChoices.filter((c) => c.choices[0]!.finish_reason !== null);
    expect(finishes).toHaveLength(1);
    expect(finishes[0]!.choices[0]!.finish_reason).toBe("stop");
    // The usage chunk comes last, with no choices; earlier chunks carry usage: null.
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(last.usage!.total_tokens).toBe(last.usage!.prompt_tokens + last.usage!.completion_tokens);
    expect(withChoices.every((c) => c.usage === null)).toBe(true);
  });

  it("sends no usage chunk without include_usage, and ends with [DONE]", async () => {
    const response = await fetch(`${platform.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "hello", messages: [{ role: "user", content: "hi" }], stream: true }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = (await response.text()).split("\n\n").filter((e) => e !== "");
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events.at(-1)).toBe("data: [DONE]");
    const payloads = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as Record<string, unknown>);
    expect(payloads.every((p) => !("usage" in p))).toBe(true);
  });

  it("stops before a stop string and does not return it", async () => {
    const completion = await client.chat.completions.create({
      model: "hello",
      messages: [{ role: "user", content: "hi" }],
      stop: ["world"],
    });
    expect(completion.choices[0]!.message.content).toBe("Hello ");
    expect(completion.choices[0]!.finish_reason).toBe("stop");

    const single = await client.chat.completions.create({
      model: "hello",
      messages: [{ role: "user", content: "hi" }],
      stop: "!",
    });
    expect(single.choices[0]!.message.content).toBe("Hello world");
  });

  it("max_tokens and max_completion_tokens cut the answer with finish_reason length", async () => {
    const completion = await client.chat.completions.create({
      model: "hello",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });
    expect(completion.choices[0]!.message.content).toBe("Hello world");
    expect(completion.choices[0]!.finish_reason).toBe("length");
    expect(completion.usage!.completion_tokens).toBe(2);

    const stream = await client.chat.completions.create({
      model: "hello",
      messages: [{ role: "user", content: "hi" }],
      max_completion_tokens: 1,
      stream: true,
    });
    let text = "";
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe("Hello");
    expect(finish).toBe("length");
  });

  it("returns tool calls with JSON-string arguments and finish_reason tool_calls", async () => {
    const completion = await client.chat.completions.create({
      model: "tools",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [weatherTool],
    });
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const calls = choice.message.tool_calls!;
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.type).toBe("function");
    if (call.type !== "function") throw new Error("not a function call");
    expect(call.id).toMatch(/\S/);
    expect(call.function.name).toBe("get_weather");
    expect(typeof call.function.arguments).toBe("string");
    expect(JSON.parse(call.function.arguments)).toEqual({ city: "Paris" });
  });

  it("streams tool calls as indexed deltas that assemble to the same call", async () => {
    const stream = await client.chat.completions.create({
      model: "tools",
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: "auto",
      stream: true,
    });
    const calls: { id: string; name: string; arguments: string }[] = [];
    let finish: string | null = null;
    let content = "";
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (!choice) continue;
      content += choice.delta.content ?? "";
      for (const delta of choice.delta.tool_calls ?? []) {
        const call = (calls[delta.index] ??= { id: "", name: "", arguments: "" });
        call.id += delta.id ?? "";
        call.name += delta.function?.name ?? "";
        call.arguments += delta.function?.arguments ?? "";
      }
      finish = choice.finish_reason ?? finish;
    }
    expect(content).toBe("");
    expect(finish).toBe("tool_calls");
    expect(calls).toHaveLength(1);
    expect(calls[0]!.name).toBe("get_weather");
    expect(calls[0]!.id).toMatch(/\S/);
    expect(JSON.parse(calls[0]!.arguments)).toEqual({ city: "Paris" });
  });

  it("accepts a conversation with an earlier tool call and its result", async () => {
    const completion = await client.chat.completions.create({
      model: "hello",
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    expect(completion.choices[0]!.message.content).toBe("Hello world!");
  });

  it("answers 400 naming tools when they go to a model whose template cannot show them", async () => {
    const error = await client.chat.completions
      .create({ model: "hello", messages: [{ role: "user", content: "Weather?" }], tools: [weatherTool] })
      .catch((e: unknown) => e as InstanceType<typeof OpenAI.BadRequestError>);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error).toMatchObject({ status: 400, param: "tools" });
    expect((error as Error).message).toContain('"hello" does not support tools');
  });

  it("response_format json_schema yields parseable JSON", async () => {
    const completion = await client.chat.completions.create({
      model: "json",
      messages: [{ role: "user", content: "Where?" }],
      response_format: {
        type: "json_schema",
        json_schema: {
          name: "place",
          strict: true,
          schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        },
      },
    });
    const content = completion.choices[0]!.message.content!;
    expect(JSON.parse(content)).toEqual({ city: "Paris" });

    const object = await client.chat.completions.create({
      model: "json",
      messages: [{ role: "user", content: "Where?" }],
      response_format: { type: "json_object" },
    });
    expect(JSON.parse(object.choices[0]!.message.content!)).toEqual({ city: "Paris" });
  });

  it("an unknown model is a 404 in OpenAI's shape, streaming or not", async () => {
    for (const stream of [false, true]) {
      const error = await client.chat.completions
        .create({ model: "no-such-model", messages: [{ role: "user", content: "hi" }], stream })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      const apiError = error as InstanceType<typeof OpenAI.NotFoundError>;
      expect(apiError.status).toBe(404);
      expect(apiError.code).toBe("model_not_found");
      expect(apiError.type).toBe("not_found_error");
      expect(apiError.message).toMatch(/no-such-model/);
    }
  });

  it("rejects malformed bodies with 400 naming the field", async () => {
    const post = async (body: unknown) => {
      const response = await fetch(`${platform.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      const json = (await response.json()) as {
        error: { message: string; type: string; param: string | null };
      };
      return { status: response.status, error: json.error };
    };
    const missingModel = await post({ messages: [{ role: "user", content: "hi" }] });
    expect(missingModel.status).toBe(400);
    expect(missingModel.error.type).toBe("invalid_request_error");
    expect(missingModel.error.param).toBe("model");
    expect(missingModel.error.message).toMatch(/model is required/);

    const badRole = await post({
      model: "hello",
      messages: [{ role: "user", content: "hi" }, { role: "robot" }],
    });
    expect(badRole.status).toBe(400);
    expect(badRole.error.param).toBe("messages[1].role");

    const badTemperature = await post({
      model: "hello",
      messages: [{ role: "user", content: "x" }],
      temperature: "hot",
    });
    expect(badTemperature.error.param).toBe("temperature");

    const twoChoices = await post({ model: "hello", messages: [{ role: "user", content: "x" }], n: 2 });
    expect(twoChoices.status).toBe(400);
    expect(twoChoices.error.param).toBe("n");

    const badArgs = await post({
      model: "hello",
      messages: [
        {
          role: "assistant",
          tool_calls: [{ id: "c", type: "function", function: { name: "f", arguments: "{oops" } }],
        },
      ],
    });
    expect(badArgs.status).toBe(400);
    expect(badArgs.error.param).toBe("messages[0].tool_calls[0].function.arguments");

    const remoteImage = await post({
      model: "hello",
      messages: [
        { role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/a.png" } }] },
      ],
    });
    expect(remoteImage.status).toBe(400);
    expect(remoteImage.error.param).toBe("messages[0].content[0].image_url");

    const notBase64 = await post({
      model: "hello",
      messages: [
        { role: "user", content: [{ type: "image_url", image_url: { url: "data:image/png;base64,%%%" } }] },
      ],
    });
    expect(notBase64.status).toBe(400);
    expect(notBase64.error.param).toBe("messages[0].content[0].image_url");

    // A well-formed data URL passes the adapter and reaches the model as an image, which this
    // text-only model refuses.
    const image = await post({
      model: "hello",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is this?" },
            {
              type: "image_url",
              image_url: { url: `data:image/png;base64,${Buffer.from("png").toString("base64")}` },
            },
          ],
        },
      ],
    });
    expect(image.status).toBe(400);
    expect(image.error.message).toMatch(/does not support vision/);

    const unknownChoice = await post({
      model: "hello",
      messages: [{ role: "user", content: "x" }],
      tools: [weatherTool],
      tool_choice: { type: "function", function: { name: "other" } },
    });
    expect(unknownChoice.error.param).toBe("tool_choice");

    const notJson = await post("{not json");
    expect(notJson.status).toBe(400);
    expect(notJson.error.type).toBe("invalid_request_error");
  });

  it("the openai client surfaces a 400 as BadRequestError with param", async () => {
    const error = await client.chat.completions
      .create({ model: "hello", messages: [{ role: "user", content: "x" }], n: 3 })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("n");
  });
});
