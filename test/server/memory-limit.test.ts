/**
 * engine.max_memory over HTTP: a model that cannot fit answers 507 with Ollama's `{"error"}` (and
 * OpenAI's error object on /v1), the server stays up and serves a model that fits, and /api/ps
 * shows the runner's estimate (`size`) and resident memory (`size_rss`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateMemory, readModelShape } from "../../src/engine/memory-estimate.js";
import type { PsResponseWire } from "../../src/api/ollama/responses.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { scriptedModel, tinyModel } from "../support/test-models.js";

const CONTEXT = 256;
let platform: TestPlatform;
/** The two models by their estimate at CONTEXT: the budget holds the smaller, not the larger. */
let small: { name: string; bytes: number };
let large: { name: string; bytes: number };

beforeAll(async () => {
  const files = { hello: await scriptedModel("hello", ["Hello", " world", "!"]), tiny: await tinyModel() };
  const options = { numCtx: CONTEXT, parallel: 1, kvCacheType: "f16", flashAttention: "auto" } as const;
  const sized = await Promise.all(
    Object.entries(files).map(async ([name, path]) => ({
      name,
      bytes: estimateMemory(await readModelShape(path), options).totalBytes,
    })),
  );
  sized.sort((a, b) => a.bytes - b.bytes);
  [small, large] = sized as [typeof small, typeof large];
  expect(large.bytes).toBeGreaterThan(small.bytes + 1024);
  platform = await startTestPlatform({
    flags: {
      profile: "core",
      "engine.context_length": CONTEXT,
      "engine.num_parallel": 1,
      "engine.max_memory": small.bytes + 1024,
    },
    models: Object.entries(files).map(([name, gguf]) => ({ name, gguf })),
  });
});

afterAll(async () => {
  await platform?.close();
});

const post = (path: string, body: unknown): Promise<Response> =>
  fetch(`${platform.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

describe("engine.max_memory over HTTP", () => {
  it("answers 507 insufficient memory for a model that cannot fit, then serves one that fits", async () => {
    const refused = await post("/api/generate", { model: large.name, prompt: "hi", stream: false });
    expect(refused.status).toBe(507);
    const body = (await refused.json()) as { error: string };
    expect(body.error).toMatch(/^model requires [\d.]+ MiB of memory but only [\d.]+ MiB is available$/);

    const openai = await post("/v1/completions", { model: large.name, prompt: "hi", max_tokens: 2 });
    expect(openai.status).toBe(507);
    const error = ((await openai.json()) as { error: { type: string; message: string } }).error;
    expect(error.type).toBe("server_error");
    expect(error.message).toContain("of memory but only");

    const ok = await post("/api/generate", {
      model: small.name,
      prompt: "hi",
      stream: false,
      options: { num_predict: 3 },
    });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { response: string }).response.length).toBeGreaterThan(0);

    const ps = (await (await fetch(`${platform.url}/api/ps`)).json()) as PsResponseWire;
    expect(ps.models.map((m) => [m.name, m.size])).toEqual([[`${small.name}:latest`, small.bytes]]);
    expect(ps.models[0]?.size_rss).toBeGreaterThan(20 * 2 ** 20);
  }, 60_000);
});
