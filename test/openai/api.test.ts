import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform } from "../support/platform.js";
import { tinyModel } from "../support/test-models.js";
import { helloModel } from "../support/scripted-models.js";

type Platform = Awaited<ReturnType<typeof startTestPlatform>>;

describe("/v1 completions, embeddings and models", () => {
  let platform: Platform;
  let client: OpenAI;

  beforeAll(async () => {
    const [hello, tiny] = await Promise.all([helloModel(), tinyModel()]);
    platform = await startTestPlatform({
      flags: { profile: "core", "engine.context_length": 256, "engine.num_parallel": 1 },
      models: [
        { name: "hello", gguf: hello },
        { name: "team/hello:v1", gguf: hello },
        { name: "hf.co/acme/hello-gguf:Q4_K_M", gguf: hello },
        { name: "tiny", gguf: tiny },
      ],
    });
    client = new OpenAI({ baseURL: `${platform.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it("completes a raw prompt, with usage and finish_reason", async () => {
    const completion = await client.completions.create({ model: "hello", prompt: "Once upon a time" });
    expect(completion.object).toBe("text_completion");
    expect(completion.id).toMatch(/^cmpl-/);
    expect(completion.model).toBe("hello");
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]!.text).toBe("Hello world!");
    expect(completion.choices[0]!.finish_reason).toBe("stop");
    expect(completion.usage!.prompt_tokens).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens,
    );

    const cut = await client.completions.create({ model: "hello", prompt: "x", max_tokens: 1, stop: ["!"] });
    expect(cut.choices[0]!.text).toBe("Hello");
    expect(cut.choices[0]!.finish_reason).toBe("length");
  });

  it("streams a completion with a usage chunk", async () => {
    const stream = await client.completions.create({
      model: "hello",
      prompt: "Once",
      stream: true,
      stream_options: { include_usage: true },
      stop: "!",
    });
    const chunks: OpenAI.Completions.Completion[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.text ?? "").join("")).toBe("Hello world");
    const finishes = chunks.filter((c) => (c.choices[0]?.finish_reason ?? null) !== null);
    expect(finishes.map((c) => c.choices[0]!.finish_reason)).toEqual(["stop"]);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("refuses echo and several prompts with 400 naming the field", async () => {
    const echo = await client.completions
      .create({ model: "hello", prompt: "x", echo: true })
      .catch((e: unknown) => e);
    expect(echo).toBeInstanceOf(OpenAI.BadRequestError);
    expect((echo as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("echo");

    const many = await client.completions
      .create({ model: "hello", prompt: ["a", "b"] })
      .catch((e: unknown) => e);
    expect(many).toBeInstanceOf(OpenAI.BadRequestError);
    expect((many as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("prompt");

    // A suffix needs a template with fill-in-the-middle support; ChatML has none.
    const suffix = await client.completions
      .create({ model: "hello", prompt: "def f(", suffix: "return x" })
      .catch((e: unknown) => e);
    expect(suffix).toBeInstanceOf(OpenAI.BadRequestError);
    expect((suffix as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("suffix");

    const noPrompt = await fetch(`${platform.url}/v1/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "hello" }),
    });
    expect(noPrompt.status).toBe(400);
    expect(((await noPrompt.json()) as { error: { param: string } }).error.param).toBe("prompt");
  });

  it("embeds as floats and as the client's default base64 to the same vectors", async () => {
    const input = ["The quick brown fox", "jumps over the lazy dog"];
    const asFloat = await client.embeddings.create({ model: "tiny", input, encoding_format: "float" });
    // No encoding_format: the openai client asks for base64 and decodes it itself.
    const asDefault = await client.embeddings.create({ model: "tiny", input });
    expect(asFloat.object).toBe("list");
    expect(asFloat.model).toBe("tiny");
    expect(asFloat.data.map((d) => d.index)).toEqual([0, 1]);
    expect(asFloat.usage.prompt_tokens).toBeGreaterThan(0);
    for (const i of [0, 1]) {
      const float = asFloat.data[i]!.embedding;
      const decoded = Array.from(asDefault.data[i]!.embedding);
      // The tiny model's embedding length is 64.
      expect(float).toHaveLength(64);
      expect(decoded).toEqual(float);
      const norm = Math.sqrt(float.reduce((sum, v) => sum + v * v, 0));
      expect(norm).toBeCloseTo(1, 4);
    }
    expect(asFloat.data[0]!.embedding).not.toEqual(asFloat.data[1]!.embedding);

    const raw = await fetch(`${platform.url}/v1/embeddings`, {
      method: "POST",
      body: JSON.stringify({ model: "tiny", input: "one", encoding_format: "base64", dimensions: 16 }),
    });
    const body = (await raw.json()) as { data: { embedding: string }[] };
    expect(typeof body.data[0]!.embedding).toBe("string");
    expect(Buffer.from(body.data[0]!.embedding, "base64").length).toBe(16 * 4);
  });

  it("rejects a bad encoding_format, an empty input and token arrays, naming the field", async () => {
    const format = await client.embeddings
      .create({ model: "tiny", input: "x", encoding_format: "int8" as "float" })
      .catch((e: unknown) => e);
    expect(format).toBeInstanceOf(OpenAI.BadRequestError);
    expect((format as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("encoding_format");

    const empty = await client.embeddings.create({ model: "tiny", input: [] }).catch((e: unknown) => e);
    expect((empty as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("input");

    // An empty string would embed as an empty vector, which no vector store of fixed size takes.
    const refused = async (input: unknown) => {
      const error = await client.embeddings
        .create({ model: "tiny", input: input as string })
        .catch((e: unknown) => e as InstanceType<typeof OpenAI.BadRequestError>);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      return (error as InstanceType<typeof OpenAI.BadRequestError>).message;
    };
    expect(await refused("")).toMatch(/input: must not be an empty string/);
    expect(await refused(["a", ""])).toMatch(/input\[1\]: must not be an empty string/);
    expect(await refused([1, 2, 3])).toMatch(
      /input: must be a string or an array of strings \(token arrays are not supported\)/,
    );
  });

  it("lists installed models and retrieves names with namespace, host and tag", async () => {
    const list = await client.models.list();
    const ids = list.data.map((m) => m.id).sort();
    expect(ids).toEqual(["hello:latest", "hf.co/acme/hello-gguf:Q4_K_M", "team/hello:v1", "tiny:latest"]);
    for (const model of list.data) {
      expect(model.object).toBe("model");
      expect(model.created).toBeGreaterThan(1_600_000_000);
      expect(model.owned_by).toMatch(/\S/);
    }
    expect(list.data.find((m) => m.id === "team/hello:v1")!.owned_by).toBe("team");

    // The client encodes "/" as %2F; curl users send it bare. Both must reach the model.
    const namespaced = await client.models.retrieve("team/hello:v1");
    expect(namespaced).toMatchObject({ id: "team/hello:v1", object: "model", owned_by: "team" });
    const hosted = await client.models.retrieve("hf.co/acme/hello-gguf:Q4_K_M");
    expect(hosted.id).toBe("hf.co/acme/hello-gguf:Q4_K_M");
    const bare = await fetch(`${platform.url}/v1/models/hf.co/acme/hello-gguf:Q4_K_M`);
    expect(bare.status).toBe(200);
    expect(((await bare.json()) as { id: string }).id).toBe("hf.co/acme/hello-gguf:Q4_K_M");
    expect((await client.models.retrieve("hello")).id).toBe("hello:latest");
  });

  it("an unknown model is 404 model_not_found on every route", async () => {
    const attempts: (() => Promise<unknown>)[] = [
      () => client.models.retrieve("team/missing:v2"),
      () => client.completions.create({ model: "missing", prompt: "x" }),
      () => client.embeddings.create({ model: "missing", input: "x" }),
    ];
    for (const attempt of attempts) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    }
  });
});
