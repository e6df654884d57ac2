/**
 * Memory-aware scheduling through the real engine: runners are real child processes with
 * llama.cpp on generated models, and `engine.max_memory` is set from the models' own estimates so
 * that they fit one at a time but not together, or not at all.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { createEngine } from "../../src/engine/create-engine.js";
import { estimateMemory, readModelShape } from "../../src/engine/memory-estimate.js";
import type { KvCacheType } from "../../src/engine/memory-estimate.js";
import type { Engine, GenerateRequest } from "../../src/engine/types.js";
import { silentLogger } from "../../src/logger.js";
import type { ModelRecord } from "../../src/models/types.js";
import { rejectedAppError } from "../support/app-error.js";
import { compiled, testEngineOptions } from "../support/build.js";
import { processAlive } from "../../src/lib/processes.js";
import { started, text, until } from "../support/engine-streams.js";
import { testRecord } from "../support/model-record.js";
import { scriptedModel, tinyModel } from "../support/test-models.js";

const CONTEXT = 256;
let dir: string;
let hello: ModelRecord;
let tiny: ModelRecord;
/** Heads of 32 elements (n_embd 128, 4 heads): whole q8_0 blocks, unlike the tiny model's 16. */
let wide: ModelRecord;
const engines: Engine[] = [];

/**
 * `pooled`: runners come from and go back to the worker's warm pool (test/support/build.ts), for
 * tests that never check that a runner exits; the others see a runner stop as the server does.
 */
function engineWith(settings: NonNullable<ConfigInput["engine"]>, pooled = false): Engine {
  const config = configSchema.parse({
    home: dir,
    engine: { threads: 1, num_parallel: 1, context_length: CONTEXT, ...settings },
  });
  const engine = createEngine({
    config,
    logger: silentLogger(),
    ...(pooled ? testEngineOptions() : { spareRunner: false, runnerEntry: compiled().runner }),
  });
  engines.push(engine);
  return engine;
}

/** What the scheduler will account for a model at this context (one slot). */
async function estimate(model: ModelRecord, numCtx = CONTEXT, kvCacheType: KvCacheType = "f16") {
  const shape = await readModelShape(model.modelPath);
  return estimateMemory(shape, { numCtx, parallel: 1, kvCacheType, flashAttention: "auto" });
}

const helloRequest = (): GenerateRequest => ({
  model: hello,
  prompt: "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  sampling: {},
  load: {},
});

const tinyRequest = (extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: tiny,
  prompt: "hello",
  sampling: { temperature: 0, maxTokens: 5 },
  load: {},
  ...extra,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-memory-"));
  hello = testRecord("hello", await scriptedModel("hello", ["Hello", " world", "!"]));
  tiny = testRecord("tiny", await tinyModel());
  const pieces = Array.from({ length: 127 }, (_, i) => `w${i}`);
  wide = testRecord("wide", await scriptedModel("wide", pieces));
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("memory-aware scheduling", () => {
  it("refuses a model larger than engine.max_memory with insufficient_memory, and keeps serving", async () => {
    const small = Math.max((await estimate(hello)).totalBytes, (await estimate(tiny)).totalBytes);
    const large = (await estimate(tiny, 2048)).totalBytes;
    expect(large).toBeGreaterThan(small + 1);
    const engine = engineWith({ max_memory: small + 1 }, true);

    const error = await rejectedAppError(text(engine, tinyRequest({ load: { numCtx: 2048 } })));
    expect(error.code).toBe("insufficient_memory");
    expect(error.status).toBe(507);
    expect(error.message).toMatch(/^model requires \d+\.\d MiB of memory but only \d+\.\d MiB is available$/);
    expect(engine.loaded()).toEqual([]);

    // Models that fit still load, one after the other.
    expect(await text(engine, helloRequest())).toBe("Hello world!");
    expect((await text(engine, tinyRequest())).length).toBeGreaterThan(0);
    expect(engine.loaded().map((m) => m.model.name)).toEqual(["tiny:latest"]);
  }, 60_000);

  it("evicts the idle model when the next one fits only without it", async () => {
    const [a, b] = [(await estimate(hello)).totalBytes, (await estimate(tiny)).totalBytes];
    // Either fits alone; both together do not. max_loaded_models (3) is not what evicts.
    const engine = engineWith({ max_memory: a + b - 1 });
    await engine.load(hello, {});
    const [loaded] = engine.loaded();
    expect(loaded?.sizeBytes).toBe(a);
    const pid = loaded?.pid ?? 0;
    expect(processAlive(pid)).toBe(true);

    expect((await text(engine, tinyRequest())).length).toBeGreaterThan(0);
    expect(processAlive(pid)).toBe(false);
    expect(engine.loaded().map((m) => [m.model.name, m.sizeBytes])).toEqual([["tiny:latest", b]]);
  }, 60_000);

  it("never evicts a runner with a request in flight: the load waits until it is idle", async () => {
    const [a, b] = [(await estimate(hello)).totalBytes, (await estimate(tiny, 2048)).totalBytes];
    const engine = engineWith({ max_memory: a + b - 1 });
    const controller = new AbortController();
    // Greedy decoding on the tiny model runs until its 2048-token context is full: seconds.
    const busy = await started(
      engine,
      tinyRequest({ sampling: { temperature: 0 }, load: { numCtx: 2048 }, signal: controller.signal }),
    );
    const tinyPid = engine.loaded()[0]?.pid ?? 0;

    const waiting = text(engine, helloRequest());
    waiting.catch(() => undefined);
    await until(() => engine.stats().queueDepth === 1, "the hello request waits");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(processAlive(tinyPid)).toBe(true);
    expect(engine.loaded().map((m) => [m.model.name, m.activeRequests])).toEqual([["tiny:latest", 1]]);
    expect(engine.stats().queueDepth).toBe(1);

    controller.abort();
    expect((await busy.ended)?.code).toBe("client_closed");
    expect(await waiting).toBe("Hello world!");
    expect(processAlive(tinyPid)).toBe(false);
    expect(engine.loaded().map((m) => m.model.name)).toEqual(["hello:latest"]);
  }, 60_000);

  it("engine.kv_cache_type q8_0 loads with about half the KV memory; a model whose heads cannot take it gets f16", async () => {
    const f16 = await estimate(wide, 2048);
    const q8 = await estimate(wide, 2048, "q8_0");
    expect(q8.kvCacheBytes / f16.kvCacheBytes).toBeLessThanOrEqual(0.55);

    const engine = engineWith({ kv_cache_type: "q8_0" }, true);
    const request = { ...tinyRequest({ load: { numCtx: 2048 } }), model: wide };
    expect(await text(engine, request)).toBe("w0w1w2w3w4");
    // The tiny model's heads are 16 elements, not a whole q8_0 block: it loads with f16.
    expect((await text(engine, tinyRequest())).length).toBeGreaterThan(0);
    const sizes = Object.fromEntries(engine.loaded().map((m) => [m.model.name, m]));
    expect(sizes["wide:latest"]?.sizeBytes).toBe(q8.totalBytes);
    expect(sizes["wide:latest"]?.contextLength).toBe(2048);
    expect(sizes["tiny:latest"]?.sizeBytes).toBe((await estimate(tiny)).totalBytes);
    // A runner is a Node process with llama.cpp loaded: tens of MiB at least.
    expect(sizes["wide:latest"]?.rssBytes).toBeGreaterThan(20 * 2 ** 20);
  }, 60_000);
});
