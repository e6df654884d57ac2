/**
 * Failure and load behaviour of the whole platform: a runner killed mid-stream, a burst of
 * streams beyond the queue, and shutdown draining in-flight streams. Real runners, real HTTP.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { tinyModel } from "../support/test-models.js";

let platform: TestPlatform;
let ollama: Ollama;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function settledRss(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().rss;
}

type Line = Record<string, unknown>;

/** Reads an NDJSON stream to its end, returning its parsed lines. */
async function readLines(body: ReadableStream<Uint8Array>): Promise<Line[]> {
  let text = "";
  const decoder = new TextDecoder();
  for await (const chunk of body) text += decoder.decode(chunk, { stream: true });
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Line);
}

function generate(body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  return fetch(`${platform.url}/api/generate`, { method: "POST", body: JSON.stringify(body), signal });
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Greedy decoding of the tiny model never produces its end token: output runs to num_predict.
const GREEDY = { temperature: 0 };

beforeAll(async () => {
  platform = await startTestPlatform({
    flags: { profile: "core", "engine.context_length": 512, "engine.num_parallel": 2, "engine.max_queue": 8 },
    models: [{ name: "tiny", gguf: await tinyModel() }],
    drainTimeoutMs: 30_000,
  });
  ollama = new Ollama({ host: platform.url });
});

afterAll(async () => {
  await platform?.close();
});

describe("runner crash", () => {
  it("ends the stream with an error line; the server answers and the next request succeeds", async () => {
    const res = await generate({ model: "tiny", prompt: "hi", options: { ...GREEDY, num_predict: 400 } });
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(first.done).toBe(false);
    const pid = platform.deps.engine.loaded()[0]?.pid;
    expect(pid).toBeTypeOf("number");
    process.kill(pid!, "SIGKILL");

    let text = new TextDecoder().decode(first.value);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    const lines = text
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => JSON.parse(l) as Line);
    const last = lines.at(-1)!;
    expect(Object.keys(last)).toEqual(["error"]);
    expect(last.error).toBeTypeOf("string");
    expect(lines.some((l) => l.done === true)).toBe(false);

    expect(await ollama.version()).toHaveProperty("version");
    const next = await ollama.generate({
      model: "tiny",
      prompt: "hi",
      stream: false,
      options: { num_predict: 3 },
    });
    expect(next.eval_count).toBe(3);
    expect(platform.deps.engine.loaded()[0]?.pid).not.toBe(pid);
  });
});

describe("burst beyond the queue", () => {
  it("completes or refuses (503 + Retry-After) each of 20 streams, none hangs, memory returns", async () => {
    await ollama.generate({ model: "tiny", prompt: "warm", stream: false, options: { num_predict: 5 } });
    const baseline = settledRss();

    const one = async (i: number, tokens: number): Promise<string> => {
      const res = await generate({
        model: "tiny",
        prompt: `request ${i}`,
        options: { ...GREEDY, num_predict: tokens },
      });
      if (res.status === 503) {
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(await res.json()).toEqual({ error: expect.any(String) as unknown });
        return "refused";
      }
      expect(res.status).toBe(200);
      const lines = await readLines(res.body!);
      expect(lines.at(-1)).toMatchObject({ done: true, done_reason: "length", eval_count: tokens });
      return "done";
    };
    // Ten streams fill the 2 slots and the 8 queue places while the runner is frozen (SIGSTOP),
    // so none can finish early on a fast machine or trickle in on a loaded one; then ten more at
    // once must all be refused, and once the runner thaws the first ten all complete.
    const pid = platform.deps.engine.loaded()[0]?.pid ?? 0;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, "SIGSTOP");
    let held: Promise<string[]>;
    try {
      held = Promise.all(Array.from({ length: 10 }, (_, i) => one(i, 8)));
      await expect
        .poll(() => platform.deps.engine.stats(), { interval: 10 })
        .toMatchObject({ activeRequests: 2, queueDepth: 8 });
      const burst = await withTimeout(
        Promise.all(Array.from({ length: 10 }, (_, i) => one(10 + i, 8))),
        10_000,
        "10 refusals",
      );
      expect(burst).toEqual(Array(10).fill("refused"));
    } finally {
      process.kill(pid, "SIGCONT");
    }
    expect(await withTimeout(held, 55_000, "10 held streams")).toEqual(Array(10).fill("done"));
    expect(platform.deps.engine.stats()).toMatchObject({ queueDepth: 0, activeRequests: 0 });

    const growthMb = (settledRss() - baseline) / 1024 / 1024;
    expect(growthMb).toBeLessThan(150);
  }, 60_000);
});

describe("shutdown", () => {
  it("lets an in-flight stream finish, ends one outliving the grace period with an error record, refuses new connections; close() is idempotent", async () => {
    const res = await generate({ model: "tiny", prompt: "last", options: { ...GREEDY, num_predict: 10 } });
    expect(res.status).toBe(200);
    const lines = readLines(res.body!);
    // Runs until the context is full: ~500 tokens, far longer than the grace period below.
    const long = await generate({
      model: "tiny",
      prompt: "long",
      options: { ...GREEDY, num_predict: 100_000 },
    });
    expect(long.status).toBe(200);
    const longLines = readLines(long.body!);
    const closing = platform.close(300);
    expect(platform.close()).toBe(closing);
    const finished = await lines;
    expect(finished.at(-1)).toMatchObject({ done: true, eval_count: 10 });
    const cut = await longLines;
    expect(cut.length).toBeGreaterThan(1);
    expect(cut.at(-1)).toEqual({
      error: "the server is shutting down: this request was still running after the 300 ms grace period",
    });
    await closing;
    await expect(fetch(`${platform.url}/api/version`)).rejects.toThrow();
  });
});
