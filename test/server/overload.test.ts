/**
 * Refusing an overload costs next to nothing: with the one slot busy and the one queue place
 * taken, a new request is refused 503 + Retry-After before its model record is read (the store
 * counts lookups) — even when the model's manifest is gone by then. The runner is held busy with
 * SIGSTOP, so the slot stays taken however fast the machine generates.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { modelsPath } from "../../src/config/load.js";
import { manifestPath, parseModelName } from "../../src/models/names.js";
import type { LocalModelStore } from "../../src/models/store.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { openStreamBody } from "../support/streams.js";
import { tinyModel } from "../support/test-models.js";

let platform: TestPlatform;

beforeAll(async () => {
  platform = await startTestPlatform({
    flags: {
      profile: "core",
      "engine.context_length": 2048,
      "engine.num_parallel": 1,
      "engine.max_queue": 1,
    },
    models: [{ name: "tiny", gguf: await tinyModel() }],
  });
});

afterAll(async () => {
  await platform?.close();
});

const post = (path: string, body: unknown, signal?: AbortSignal): Promise<Response> =>
  fetch(`${platform.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });

describe("a full queue", () => {
  it("refuses before the model record is read, in both families", async () => {
    const store = platform.deps.store as LocalModelStore;
    const engine = platform.deps.engine;
    const cut = new AbortController();
    // Greedy decoding of the tiny model never ends by itself: this stream holds the only slot.
    const busy = await post(
      "/api/generate",
      { model: "tiny", prompt: "hold", options: { temperature: 0, num_predict: 2000 } },
      cut.signal,
    );
    expect(busy.status).toBe(200);
    const stream = await openStreamBody(busy);
    const pid = engine.loaded()[0]?.pid;
    expect(pid).toBeTypeOf("number");
    process.kill(pid!, "SIGSTOP");
    try {
      expect(engine.stats().activeRequests).toBe(1);
      const queued = post("/api/chat", { model: "tiny", messages: [], stream: false }, cut.signal).catch(
        () => undefined,
      );
      await expect.poll(() => engine.stats().queueDepth, { timeout: 10_000 }).toBe(1);

      const before = store.stats();
      const ollama = await post("/api/chat", { model: "tiny", messages: [{ role: "user", content: "hi" }] });
      expect(ollama.status).toBe(503);
      expect(Number(ollama.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(await ollama.json()).toEqual({ error: expect.stringContaining("busy") as unknown });
      const openai = await post("/v1/chat/completions", {
        model: "tiny",
        messages: [{ role: "user", content: "hi" }],
      });
      expect(openai.status).toBe(503);
      expect(await openai.json()).toMatchObject({ error: { code: "queue_full", type: "server_error" } });
      const embed = await post("/api/embed", { model: "tiny", input: "hi" });
      expect(embed.status).toBe(503);
      expect(store.stats()).toEqual(before);

      // With its manifest gone, the refusal still says busy (not "model not found"): nothing
      // about the model was looked at.
      const manifest = manifestPath(modelsPath(platform.config), parseModelName("tiny"));
      const bytes = await readFile(manifest);
      await rm(manifest);
      try {
        const gone = await post("/api/generate", { model: "tiny", prompt: "hi" });
        expect(gone.status).toBe(503);
        expect(await gone.json()).toEqual({ error: expect.stringContaining("busy") as unknown });
      } finally {
        await writeFile(manifest, bytes);
      }
      cut.abort();
      await queued;
    } finally {
      process.kill(pid!, "SIGCONT");
      cut.abort();
      await stream.finish();
    }
    await expect
      .poll(() => engine.stats(), { timeout: 30_000 })
      .toMatchObject({
        queueDepth: 0,
        activeRequests: 0,
      });
    // Not refused any more; the manifest was rewritten, so it is read once, then cached.
    const generate = () =>
      post("/api/generate", { model: "tiny", prompt: "hi", stream: false, options: { num_predict: 2 } });
    expect((await generate()).status).toBe(200);
    const reads = store.stats().reads;
    expect((await generate()).status).toBe(200);
    expect(store.stats().reads).toBe(reads);
  });
});
