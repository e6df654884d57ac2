import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GenerateStats } from "../../src/engine/types.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { tinyModel } from "../support/test-models.js";

const MODEL = "tiny:latest";
let platform: TestPlatform;
let ollama: Ollama;

beforeAll(async () => {
  platform = await startTestPlatform({ models: [{ name: MODEL, gguf: await tinyModel() }] });
  ollama = new Ollama({ host: platform.url });
});
afterAll(async () => {
  await platform?.close();
});

async function scrape(): Promise<{ contentType: string; text: string }> {
  const response = await fetch(`${platform.url}/metrics`);
  expect(response.status).toBe(200);
  return { contentType: response.headers.get("content-type") ?? "", text: await response.text() };
}

/** The value of one series in Prometheus text format, or undefined when it is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      found[pair[1] ?? ""] = pair[2] ?? "";
    const wanted = Object.entries(labels);
    if (wanted.length === Object.keys(found).length && wanted.every(([k, v]) => found[k] === v)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

/** Distinct values of one label across a metric's series. */
function labelValues(text: string, name: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const match = new RegExp(`${label}="([^"]*)"`).exec(line);
    if (match?.[1] !== undefined) values.add(match[1]);
  }
  return values;
}

describe("metrics over HTTP (real platform, real llama.cpp)", () => {
  it("records a generation: tokens, first-token time, decode speed, the request and the loaded model", async () => {
    const result = await ollama.generate({
      model: MODEL,
      prompt: "hello there",
      stream: false,
      options: { num_predict: 6, temperature: 0 },
    });
    const { contentType, text } = await scrape();
    expect(contentType).toContain("text/plain");

    const model = { model: MODEL };
    expect(sample(text, "aixcl_prompt_tokens_total", model)).toBe(result.prompt_eval_count);
    expect(sample(text, "aixcl_generated_tokens_total", model)).toBe(result.eval_count);
    expect(result.eval_count).toBeGreaterThan(0);
    expect(sample(text, "aixcl_time_to_first_token_seconds_count", model)).toBe(1);
    expect(sample(text, "aixcl_generation_tokens_per_second_count", model)).toBe(1);
    const tps = sample(text, "aixcl_generation_tokens_per_second_sum", model) ?? 0;
    expect(tps).toBeCloseTo(result.eval_count / (result.eval_duration / 1e9), 3);

    expect(
      sample(text, "aixcl_http_requests_total", { route: "/api/generate", method: "POST", status: "200" }),
    ).toBe(1);
    expect(
      sample(text, "aixcl_http_request_duration_seconds_count", { route: "/api/generate", method: "POST" }),
    ).toBe(1);

    // Read from the engine at scrape time.
    expect(sample(text, "aixcl_loaded_models")).toBe(1);
    expect(sample(text, "aixcl_model_loaded", model)).toBe(1);
    expect(sample(text, "aixcl_queue_depth")).toBe(0);
    expect(sample(text, "aixcl_runner_restarts_total")).toBe(0);
    // The scrape itself is in flight while the gauges are read, but it is not a generation.
    expect(sample(text, "aixcl_active_requests")).toBe(0);

    // Node's standard process metrics, under their standard names.
    expect(sample(text, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(text).toContain("nodejs_heap_size_used_bytes");
  });

  it("counts the tokens of a generation whose client left before it ended", async () => {
    const before = sample((await scrape()).text, "aixcl_generated_tokens_total", { model: MODEL }) ?? 0;
    const abort = new AbortController();
    const response = await fetch(`${platform.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: MODEL, prompt: "go on", options: { num_predict: 400, temperature: 0 } }),
      signal: abort.signal,
    });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while ((text.match(/\n/g) ?? []).length < 3) text += (await reader.read()).value ?? "";
    abort.abort();
    // The runner stops at its next token and reports what it generated until then.
    await expect
      .poll(
        async () =>
          (sample((await scrape()).text, "aixcl_generated_tokens_total", { model: MODEL }) ?? 0) - before,
      )
      .toBeGreaterThanOrEqual(3);
    const counted =
      (sample((await scrape()).text, "aixcl_generated_tokens_total", { model: MODEL }) ?? 0) - before;
    expect(counted).toBeLessThan(400);
  });

  it("records embeddings", async () => {
    const result = await ollama.embed({ model: MODEL, input: ["one", "two"] });
    expect(result.embeddings).toHaveLength(2);
    const { text } = await scrape();
    expect(sample(text, "aixcl_embedding_requests_total", { model: MODEL })).toBe(1);
    expect(sample(text, "aixcl_embedding_tokens_total", { model: MODEL })).toBe(result.prompt_eval_count);
  });

  it("labels requests by route pattern, never by raw URL", async () => {
    for (const path of ["/no/such/path/1", "/no/such/path/2", "/api/blobs/sha256:" + "0".repeat(64)]) {
      await fetch(`${platform.url}${path}`);
    }
    const { text } = await scrape();
    const routes = labelValues(text, "aixcl_http_requests_total", "route");
    expect([...routes].some((route) => route.includes("/no/such"))).toBe(false);
    expect([...routes].some((route) => route.includes("0000"))).toBe(false);
    expect(routes.has("/api/blobs/:digest")).toBe(true);
  });

  it("drops a model's series when it is unloaded", async () => {
    await ollama.generate({ model: MODEL, prompt: "", keep_alive: 0 });
    await expect
      .poll(async () => sample((await scrape()).text, "aixcl_loaded_models"), { timeout: 15_000 })
      .toBe(0);
    expect(sample((await scrape()).text, "aixcl_model_loaded", { model: MODEL })).toBeUndefined();
  });
});

describe("createMetrics", () => {
  const stats = (evalTokens: number): GenerateStats => ({
    doneReason: "stop",
    promptTokens: 3,
    evalTokens,
    totalNs: 2e9,
    loadNs: 0,
    promptEvalNs: 1e8,
    evalNs: 1e9,
    firstTokenNs: 2e8,
    context: [],
  });

  it("caps distinct model labels; later models are counted as other", async () => {
    const metrics = createMetrics({
      engine: platform.deps.engine,
      maxModelLabels: 64,
      processMetrics: false,
    });
    for (let i = 0; i < 100; i++) metrics.observeGeneration(`m${i}:latest`, stats(1));
    // Models admitted before the cap keep their own series afterwards.
    metrics.observeGeneration("m0:latest", stats(5));
    const { body } = await metrics.render();
    const models = labelValues(body, "aixcl_generated_tokens_total", "model");
    expect(models.size).toBe(65);
    expect(models.has("other")).toBe(true);
    expect(models.has("m63:latest")).toBe(true);
    expect(models.has("m64:latest")).toBe(false);
    expect(sample(body, "aixcl_generated_tokens_total", { model: "other" })).toBe(36);
    expect(sample(body, "aixcl_generated_tokens_total", { model: "m0:latest" })).toBe(6);
    expect(sample(body, "aixcl_generation_tokens_per_second_sum", { model: "m0:latest" })).toBe(6);
  });

  it("bounds methods and routes too", async () => {
    const metrics = createMetrics({ engine: platform.deps.engine, maxRouteLabels: 2, processMetrics: false });
    metrics.observeRequest("/a", "BREW", 405, 0.01);
    metrics.observeRequest("/b", "get", 200, 0.01);
    metrics.observeRequest("/c", "GET", 200, 0.01);
    const { body } = await metrics.render();
    expect(sample(body, "aixcl_http_requests_total", { route: "/a", method: "other", status: "405" })).toBe(
      1,
    );
    expect(sample(body, "aixcl_http_requests_total", { route: "/b", method: "GET", status: "200" })).toBe(1);
    expect(sample(body, "aixcl_http_requests_total", { route: "other", method: "GET", status: "200" })).toBe(
      1,
    );
  });

  it("gives each instance its own registry", async () => {
    const first = createMetrics({ engine: platform.deps.engine });
    const second = createMetrics({ engine: platform.deps.engine });
    first.observeEmbedding("solo:latest", 4, 1e6);
    expect(
      sample((await first.render()).body, "aixcl_embedding_requests_total", { model: "solo:latest" }),
    ).toBe(1);
    expect((await second.render()).body).not.toContain("solo:latest");
  });
});
