/**
 * Scheduling through the real engine: slots, the bounded queue, aborts, runner crashes,
 * keep-alive and eviction. Each test builds an engine with the settings it exercises; runners
 * are real child processes with llama.cpp on generated models.
 */
import { getEventListeners, setMaxListeners } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import type { ConfigInput } from "../../src/config/schema.js";
import { createEngine } from "../../src/engine/create-engine.js";
import type { Engine, GenerateRequest } from "../../src/engine/types.js";
import { AppError } from "../../src/errors.js";
import { silentLogger } from "../../src/logger.js";
import type { ModelRecord } from "../../src/models/types.js";
import { scriptedModel, tinyModel } from "../support/test-models.js";
import { rejectedAppError } from "../support/app-error.js";
import { testRecord } from "../support/model-record.js";
import { compiled, testEngineOptions } from "../support/build.js";
import { processAlive } from "../../src/lib/processes.js";
import { started, text, until } from "../support/engine-streams.js";

let dir: string;
let hello: ModelRecord;
let tiny: ModelRecord;
const engines: Engine[] = [];

/** Spare runners are off unless a test exercises them: each costs a process start on 2 cores. */
function engineWith(
  settings: NonNullable<ConfigInput["engine"]>,
  spareRunner = false,
  closeAfterEach = true,
  pooled = false,
): Engine {
  // 2048 (the tiny model's n_ctx_train) makes a greedy tiny-model request run for seconds.
  const config = configSchema.parse({ home: dir, engine: { threads: 1, context_length: 2048, ...settings } });
  const engine = createEngine({
    config,
    logger: silentLogger(),
    // Pooled runners (test/support/build.ts) only where no test checks that a runner exits.
    ...(pooled ? testEngineOptions(spareRunner) : { spareRunner, runnerEntry: compiled().runner }),
  });
  if (closeAfterEach) engines.push(engine);
  return engine;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-scheduler-"));
  hello = testRecord("hello", await scriptedModel("hello", ["Hello", " world", "!"]));
  tiny = testRecord("tiny", await tinyModel());
});

afterEach(async () => {
  await Promise.all(engines.splice(0).map((engine) => engine.close()));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const helloRequest = (extra: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: hello,
  prompt: "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  sampling: {},
  load: {},
  ...extra,
});

/** Greedy decoding on the tiny model never ends by itself: it runs until the context is full. */
const longRequest = (signal?: AbortSignal): GenerateRequest => ({
  model: tiny,
  prompt: "hello",
  sampling: { temperature: 0 },
  load: {},
  ...(signal ? { signal } : {}),
});

const shortRequest = (signal?: AbortSignal): GenerateRequest => ({
  ...longRequest(signal),
  sampling: { temperature: 0, maxTokens: 5 },
});

async function collectStats(engine: Engine, request: GenerateRequest) {
  for await (const event of engine.generate(request)) if (event.type === "done") return event.stats;
  throw new Error("no done event");
}

describe("one slot, a queue of one (one engine, tests in order)", () => {
  let single: Engine;
  beforeAll(() => {
    single = engineWith({ num_parallel: 1, max_queue: 1 }, false, false);
  });
  afterAll(async () => {
    await single.close();
  });

  it("an abort stops the stream with client_closed and frees the slot for the queued request at once", async () => {
    const engine = single;
    const controller = new AbortController();
    const first = await started(engine, longRequest(controller.signal));
    // Requests are queued synchronously (generate's first step runs on the first next()).
    const queued = collectStats(engine, shortRequest());
    expect(engine.stats()).toMatchObject({ queueDepth: 1, activeRequests: 1 });

    controller.abort();
    // On abort the slot moves to the queued request at once, not when the runner notices.
    expect(engine.stats()).toMatchObject({ queueDepth: 0, activeRequests: 1 });
    expect((await first.ended)?.code).toBe("client_closed");
    expect((await queued).evalTokens).toBe(5);
    expect(engine.stats().activeRequests).toBe(0);
  });

  it("tells a request when its prompt is with a runner: not while it waits in the queue", async () => {
    const engine = single;
    const controller = new AbortController();
    const sent: string[] = [];
    const first = await started(engine, {
      ...longRequest(controller.signal),
      onSent: () => sent.push("long"),
    });
    expect(sent).toEqual(["long"]);
    const queued = collectStats(engine, { ...shortRequest(), onSent: () => sent.push("short") });
    await until(() => engine.stats().queueDepth === 1, "the second request queued");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sent).toEqual(["long"]);
    controller.abort();
    await first.ended;
    expect((await queued).evalTokens).toBe(5);
    expect(sent).toEqual(["long", "short"]);
  });

  it("rejects requests beyond max_queue with queue_full and a retryAfter", async () => {
    const engine = single;
    const controllers = [new AbortController(), new AbortController()];
    const running = await started(engine, longRequest(controllers[0]?.signal));
    const waiting = rejectedAppError(text(engine, longRequest(controllers[1]?.signal)));
    expect(engine.stats().queueDepth).toBe(1);
    const rejected = await rejectedAppError(text(engine, longRequest()));
    expect(rejected.code).toBe("queue_full");
    expect(rejected.status).toBe(503);
    expect(rejected.retryAfter).toBeGreaterThanOrEqual(1);
    expect(rejected.retryAfter).toBeLessThanOrEqual(5);

    // The queued request gives up while waiting: it leaves the queue without ever running.
    controllers[1]?.abort();
    expect((await waiting).code).toBe("client_closed");
    expect(engine.stats().queueDepth).toBe(0);
    controllers[0]?.abort();
    expect((await running.ended)?.code).toBe("client_closed");
  });

  it("unload waits for in-flight requests, then stops the runner", async () => {
    const engine = single;
    const controller = new AbortController();
    const stream = await started(engine, longRequest(controller.signal));
    const pid = engine.loaded()[0]?.pid ?? 0;
    await engine.unload(tiny.name);
    expect(processAlive(pid)).toBe(true);
    expect(engine.loaded()).toHaveLength(1);
    controller.abort();
    expect((await stream.ended)?.code).toBe("client_closed");
    await until(() => !processAlive(pid), "the runner exited");
    expect(engine.loaded()).toEqual([]);
  });

  it("keep_alive 0 unloads the model right after the request", async () => {
    const engine = single;
    expect(await text(engine, helloRequest({ keepAliveMs: Infinity }))).toBe("Hello world!");
    const [loaded] = engine.loaded();
    expect(loaded?.expiresAt).toBeNull();
    const pid = loaded?.pid ?? 0;

    expect(await text(engine, helloRequest({ keepAliveMs: 0 }))).toBe("Hello world!");
    expect(engine.loaded()).toEqual([]);
    await until(() => !processAlive(pid), "the runner exited");
  });
});

describe("scheduler", () => {
  it("kill -9 of the runner gives runner_crashed; the next request gets a fresh runner", async () => {
    const engine = engineWith({ num_parallel: 2 }, true);
    const stream = await started(engine, longRequest());
    const [loaded] = engine.loaded();
    const pid = loaded?.pid ?? 0;
    expect(processAlive(pid)).toBe(true);
    process.kill(pid, "SIGKILL");

    const error = await stream.ended;
    expect(error?.code).toBe("runner_crashed");
    expect(error?.message).toMatch(/^model runner crashed: /);
    expect(engine.stats().runnerRestarts).toBe(1);
    expect(engine.stats().activeRequests).toBe(0);

    expect((await collectStats(engine, shortRequest())).evalTokens).toBe(5);
    const pids = engine.loaded().map((m) => m.pid);
    expect(pids).not.toContain(pid);
    expect(pids).toHaveLength(1);
  });

  it("max_loaded_models 1 evicts the idle model to load another, or waits while none is idle", async () => {
    const engine = engineWith({ num_parallel: 1, max_loaded_models: 1 }, true);
    await engine.load(hello, {});
    const helloPid = engine.loaded()[0]?.pid ?? 0;
    expect(engine.loaded().map((m) => m.model.name)).toEqual([hello.name]);

    const embedded = await engine.embed({ model: tiny, input: ["x"], truncate: true, load: {} });
    expect(embedded.loadNs).toBeGreaterThan(0);
    expect(engine.loaded().map((m) => m.model.name)).toEqual([tiny.name]);
    await until(() => !processAlive(helloPid), "the evicted runner exited");

    // No idle runner to evict: a request for another model waits until the busy one is done.
    const controller = new AbortController();
    const busy = await started(engine, longRequest(controller.signal));
    const waiting = text(engine, helloRequest());
    expect(engine.stats().queueDepth).toBe(1);
    expect(engine.loaded().map((m) => m.model.name)).toEqual([tiny.name]);
    controller.abort();
    expect((await busy.ended)?.code).toBe("client_closed");
    expect(await waiting).toBe("Hello world!");
    expect(engine.loaded().map((m) => m.model.name)).toEqual([hello.name]);
  });

  it("20 concurrent requests with 2 slots and max_queue 8: each completes or gets queue_full", async () => {
    const engine = engineWith({ num_parallel: 2, max_queue: 8 }, false, true, true);
    // One signal shared by every request: each must remove its listener when it ends (checked
    // below). 20 listeners at once is this test's design, not a leak: Node warns past 10.
    const controller = new AbortController();
    setMaxListeners(32, controller.signal);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, async () => {
        try {
          return await text(engine, helloRequest({ signal: controller.signal }));
        } catch (error) {
          if (error instanceof AppError) return error.code;
          throw error;
        }
      }),
    );
    const completed = outcomes.filter((o) => o === "Hello world!").length;
    const full = outcomes.filter((o) => o === "queue_full").length;
    expect(completed + full).toBe(20);
    expect(completed).toBe(10);
    expect(engine.stats()).toEqual({ queueDepth: 0, activeRequests: 0, runnerRestarts: 0 });
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });

  it("loads a model once for concurrent first requests, and close() ends streams and runners", async () => {
    const engine = engineWith({ num_parallel: 2 });
    const [a, b] = await Promise.all([engine.load(hello, {}), engine.load(hello, {})]);
    expect(a.loadNs).toBeGreaterThan(0);
    expect(b.loadNs).toBeGreaterThan(0);
    expect(engine.loaded()).toHaveLength(1);

    const stream = await started(engine, longRequest());
    const pids = engine.loaded().map((m) => m.pid ?? 0);
    expect(pids).toHaveLength(2);
    await engine.close();
    expect((await stream.ended)?.code).toBe("shutting_down");
    for (const pid of pids) expect(processAlive(pid)).toBe(false);
    expect((await rejectedAppError(text(engine, helloRequest()))).code).toBe("shutting_down");
  });
});
