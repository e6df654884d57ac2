/**
 * Generation and embeddings through the real engine: runner child processes with llama.cpp on
 * generated GGUF models. One engine (and so one runner per model) is shared by the whole file.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { createEngine } from "../../src/engine/create-engine.js";
import type { Engine } from "../../src/engine/types.js";
import { silentLogger } from "../../src/logger.js";
import type { ModelRecord } from "../../src/models/types.js";
import { meta, writeGguf } from "../support/gguf-writer.js";
import { scriptedModel, tinyModel } from "../support/test-models.js";
import { rejectedAppError } from "../support/app-error.js";
import { testRecord } from "../support/model-record.js";
import { testEngineOptions } from "../support/build.js";
import { collect } from "../support/engine-streams.js";

const CHAT_PROMPT = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";

let engine: Engine;
let hello: ModelRecord;
let tiny: ModelRecord;
let json: ModelRecord;
let dir: string;

beforeAll(async () => {
  // Secrets in the server's environment that must not reach a runner (checked below).
  process.env.AIXCL_API_KEY = "server-secret-0123456789";
  process.env.AIXCL_DATABASE_URL = "postgres://u:secret@127.0.0.1/db";
  process.env.AWS_SECRET_ACCESS_KEY = "cloud-secret";
  dir = await mkdtemp(join(tmpdir(), "aixcl-engine-"));
  const config = configSchema.parse({
    home: dir,
    engine: { num_parallel: 2, context_length: 512, threads: 1, max_loaded_models: 3 },
  });
  engine = createEngine({
    config,
    logger: silentLogger(),
    ...testEngineOptions(),
  });
  hello = testRecord("hello", await scriptedModel("hello", ["Hello", " world", "!"]));
  tiny = testRecord("tiny", await tinyModel());
  json = testRecord("json", await scriptedModel("json", ['{"', "answer", '":', " 42", "}"]));
});

afterAll(async () => {
  // Test files share their worker process (vitest.config.ts): leave its environment as found.
  for (const name of ["AIXCL_API_KEY", "AIXCL_DATABASE_URL", "AWS_SECRET_ACCESS_KEY"])
    delete process.env[name];
  await engine.close();
  await engine.close(); // idempotent
  await rm(dir, { recursive: true, force: true });
});

describe("generate", () => {
  it("returns exactly the scripted text, with stats and context", async () => {
    const { text, stats } = await collect(engine, {
      model: hello,
      prompt: CHAT_PROMPT,
      sampling: {},
      load: {},
    });
    expect(text).toBe("Hello world!");
    expect(stats.doneReason).toBe("stop");
    expect(stats.evalTokens).toBe(3);
    expect(stats.promptTokens).toBeGreaterThan(5);
    expect(stats.context).toHaveLength(stats.promptTokens + stats.evalTokens);
    for (const ns of [stats.totalNs, stats.promptEvalNs, stats.evalNs, stats.firstTokenNs]) {
      expect(ns).toBeGreaterThan(0);
    }
    expect(stats.totalNs).toBeGreaterThanOrEqual(stats.firstTokenNs);

    const loaded = engine.loaded().find((m) => m.model.name === hello.name);
    expect(loaded?.contextLength).toBe(512);
    expect(loaded?.sizeBytes).toBeGreaterThan(0);
    expect(loaded?.expiresAt?.getTime()).toBeGreaterThan(Date.now());

    // The runner must start with a one-thread libuv pool (docs/engine.md: a larger one competes with
    // llama.cpp's compute threads), and without the server's secrets (set at the top of this file).
    if (process.platform === "linux") {
      const environ = (await readFile(`/proc/${loaded?.pid ?? 0}/environ`, "latin1")).split("\0");
      expect(environ).toContain("UV_THREADPOOL_SIZE=1");
      expect(environ.filter((line) => /^(AIXCL_|AWS_SECRET)/.test(line))).toEqual([]);
      expect(environ.some((line) => line.startsWith("PATH="))).toBe(true);
    }
  });

  it("ends before a stop string and never emits it", async () => {
    const { text, stats } = await collect(engine, {
      model: hello,
      prompt: CHAT_PROMPT,
      sampling: { stop: ["world"] },
      load: {},
    });
    expect(text).toBe("Hello ");
    expect(stats.doneReason).toBe("stop");
  });

  it("continues from a previous answer's context tokens", async () => {
    const first = await collect(engine, { model: hello, prompt: CHAT_PROMPT, sampling: {}, load: {} });
    const second = await collect(engine, {
      model: hello,
      prompt: "again",
      context: first.stats.context,
      sampling: {},
      load: {},
    });
    expect(second.text).toBe("Hello world!");
    expect(second.stats.context.slice(0, first.stats.context.length)).toEqual(first.stats.context);
  });

  it("stops with doneReason length after exactly maxTokens tokens", async () => {
    const { stats } = await collect(engine, {
      model: tiny,
      prompt: "hello",
      sampling: { maxTokens: 7, temperature: 0 },
      load: {},
    });
    expect(stats.doneReason).toBe("length");
    expect(stats.evalTokens).toBe(7);
  });

  it("stops with length when the context is full", async () => {
    const { stats } = await collect(engine, {
      model: tiny,
      prompt: "hello",
      sampling: { temperature: 0 },
      load: { numCtx: 256 },
    });
    expect(stats.doneReason).toBe("length");
    // Never past the context (no context shift), and stopped only when it was (nearly) full.
    expect(stats.promptTokens + stats.evalTokens).toBeLessThanOrEqual(256);
    expect(stats.promptTokens + stats.evalTokens).toBeGreaterThanOrEqual(250);
    // A different num_ctx reloaded the runner with that context length.
    expect(engine.loaded().find((m) => m.model.name === tiny.name)?.contextLength).toBe(256);
  });

  it("constrains output to JSON with format json", async () => {
    const { text } = await collect(engine, {
      model: json,
      prompt: CHAT_PROMPT,
      sampling: { maxTokens: 32 },
      load: {},
      format: { type: "json" },
    });
    expect(JSON.parse(text)).toEqual({ answer: 42 });
  });

  it("constrains a random model to a JSON schema", async () => {
    const { text } = await collect(engine, {
      model: tiny,
      prompt: "hello",
      sampling: { maxTokens: 48, temperature: 0 },
      load: {},
      format: {
        type: "json_schema",
        schema: {
          type: "object",
          properties: { ok: { type: "boolean" } },
          required: ["ok"],
          additionalProperties: false,
        },
      },
    });
    const parsed = JSON.parse(text) as { ok: unknown };
    expect(typeof parsed.ok).toBe("boolean");
  });

  it("rejects an invalid GBNF grammar as invalid_request", async () => {
    const error = await rejectedAppError(
      collect(engine, {
        model: hello,
        prompt: CHAT_PROMPT,
        sampling: {},
        load: {},
        format: { type: "gbnf", grammar: "root ::= (" },
      }),
    );
    expect(error.code).toBe("invalid_request");
  });

  it("tokenizes with special tokens parsed", async () => {
    const tokens = await engine.tokenize(hello, "<|im_end|>");
    expect(tokens).toHaveLength(1);
  });
});

describe("embed", () => {
  it("returns one L2-normalised vector of the model's width per input", async () => {
    const result = await engine.embed({ model: tiny, input: ["hello", "world!"], truncate: true, load: {} });
    expect(result.embeddings).toHaveLength(2);
    for (const vector of result.embeddings) {
      expect(vector).toHaveLength(64);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    }
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    expect(result.promptTokens).toBeGreaterThan(2);
  });

  it("fails an input longer than the context unless truncating", async () => {
    const long = "x".repeat(600);
    const error = await rejectedAppError(
      engine.embed({ model: tiny, input: [long], truncate: false, load: {} }),
    );
    expect(error.code).toBe("invalid_request");
    const result = await engine.embed({ model: tiny, input: [long], truncate: true, load: {} });
    expect(result.embeddings[0]).toHaveLength(64);
  });
});

describe("load failures", () => {
  it("reports model_load_failed without absolute paths, and the engine stays usable", async () => {
    // A well-formed GGUF header that llama.cpp refuses: a llama model without tensors.
    const broken = join(dir, "broken.gguf");
    await writeGguf(broken, {
      metadata: {
        "general.architecture": meta.str("llama"),
        "llama.context_length": meta.u32(256),
        "llama.embedding_length": meta.u32(64),
        "llama.block_count": meta.u32(1),
        "llama.feed_forward_length": meta.u32(128),
        "llama.attention.head_count": meta.u32(4),
        "llama.attention.layer_norm_rms_epsilon": meta.f32(1e-5),
        "tokenizer.ggml.model": meta.str("llama"),
        "tokenizer.ggml.tokens": meta.strings(["<unk>", "<s>", "</s>", "a"]),
      },
      tensors: [],
    });
    const error = await rejectedAppError(
      collect(engine, { model: testRecord("broken", broken), prompt: "x", sampling: {}, load: {} }),
    );
    expect(error.code).toBe("model_load_failed");
    expect(error.message).toContain("token_embd.weight");
    expect(error.message).not.toContain(dir);
    expect(error.stack ?? "").not.toContain("LlamaModel");
    const { text } = await collect(engine, { model: hello, prompt: CHAT_PROMPT, sampling: {}, load: {} });
    expect(text).toBe("Hello world!");
  });
});
