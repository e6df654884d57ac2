/**
 * Concurrency inside one runner (src/engine/runner/batching.ts, sequences.ts): concurrent streams
 * decode together, one llama_decode carrying every generating sequence, and the sequences keep
 * their caches so a chat's next turn lands on the sequence holding its history, and a stream's
 * greedy output does not depend on what else shares its decodes. One engine with 4-sequence
 * runners (a scripted model, and a random-weight one whose output depends on the prompt) is shared
 * by the file.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { createEngine } from "../../src/engine/create-engine.js";
import type { Engine, GenerateRequest, GenerateStats } from "../../src/engine/types.js";
import { silentLogger } from "../../src/logger.js";
import type { ModelRecord } from "../../src/models/types.js";
import { testEngineOptions } from "../support/build.js";
import { collect } from "../support/engine-streams.js";
import { testRecord } from "../support/model-record.js";
import { longModel } from "../support/scripted-models.js";
import { tinyModel } from "../support/test-models.js";

let engine: Engine;
let model: ModelRecord;
let random: ModelRecord;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-batching-"));
  const config = configSchema.parse({
    home: dir,
    engine: { num_parallel: 4, context_length: 1024, threads: 1, max_loaded_models: 2 },
  });
  engine = createEngine({ config, logger: silentLogger(), ...testEngineOptions() });
  model = testRecord("long", await longModel());
  random = testRecord("tiny", await tinyModel());
});

afterAll(async () => {
  await engine.close();
  await rm(dir, { recursive: true, force: true });
});

const request = (prompt: string, maxTokens: number): GenerateRequest => ({
  model,
  prompt,
  sampling: { temperature: 0, maxTokens },
  load: {},
});

async function stats(req: GenerateRequest): Promise<GenerateStats> {
  for await (const event of engine.generate(req)) if (event.type === "done") return event.stats;
  throw new Error("stream ended without a done event");
}

/** A user turn of about `words` tokens' worth of distinct text (byte vocabulary: ~4 tokens a word). */
const turn = (seed: string, words: number): string =>
  Array.from({ length: words }, (_, i) => `${seed}${i}`).join(" ");

it("three concurrent streams share each decode step", async () => {
  await engine.load(model, {});
  const tokens = 120;
  const results = await Promise.all(
    ["a", "b", "c"].map((seed) =>
      stats(request(`<|im_start|>user\n${seed}<|im_end|>\n<|im_start|>assistant\n`, tokens)),
    ),
  );
  for (const result of results) {
    expect(result.evalTokens).toBe(tokens);
    const batch = result.batch;
    expect(batch).toBeDefined();
    // While this stream decoded, the context's steps carried ~3 sequences each (a few steps at the
    // edges carry fewer while the others start or finish). Without the barrier most steps carry
    // 2 of the 3 and a stream trails a step behind: about 1.5× as many steps, each narrower.
    expect(batch!.sequences / batch!.steps).toBeGreaterThan(2.6);
    expect(batch!.steps).toBeLessThan(tokens * 1.15);
  }
});

it("routes a chat's next turn to the sequence caching its history, past unrelated requests", async () => {
  const system = `<|im_start|>system\n${turn("rule", 60)}<|im_end|>\n`;
  const first = `${system}<|im_start|>user\n${turn("question", 20)}<|im_end|>\n<|im_start|>assistant\n`;
  const answered = await stats(request(first, 8));
  expect(answered.cachedTokens).toBeLessThan(32);
  expect(answered.promptTokens).toBeGreaterThan(200);

  // Unrelated prompts must take the empty (or least recently used) sequences, not this chat's,
  // although the chat's shares the longest prefix with them (the template's system opening).
  for (const seed of ["x", "y", "z"]) {
    const other = await stats(request(`<|im_start|>system\n${turn(seed, 30)}<|im_end|>\n`, 4));
    expect(other.cachedTokens).toBeLessThan(32);
  }

  // The next turn re-sends the history (prompt and answer) plus a new message: only the new
  // tokens are evaluated.
  const next = await stats({
    ...request("\n<|im_start|>user\nmore<|im_end|>\n", 4),
    context: answered.context,
  });
  expect(next.cachedTokens).toBeGreaterThanOrEqual(answered.promptTokens);
  expect(next.promptTokens - next.cachedTokens!).toBeLessThan(24);
});

it("gives each of four concurrent greedy streams the output it has alone", async () => {
  const prompts = ["north", "south", "east", "west"].map(
    (seed) => `<|im_start|>user\n${turn(seed, 6)}<|im_end|>\n<|im_start|>assistant\n`,
  );
  const greedy = (prompt: string): GenerateRequest => ({
    model: random,
    prompt,
    sampling: { temperature: 0, maxTokens: 48 },
    load: {},
  });
  const alone: string[] = [];
  for (const prompt of prompts) alone.push((await collect(engine, greedy(prompt))).text);
  // The prompts lead a random-weight model to different answers: a stream handed another
  // sequence's logits (a wrong batch index) would show.
  expect(new Set(alone).size).toBeGreaterThan(1);

  const together = await Promise.all(prompts.map((prompt) => collect(engine, greedy(prompt))));
  expect(together.map((result) => result.text)).toEqual(alone);
  // They really shared decodes (else this would only repeat the first half).
  const batch = together[0]!.stats.batch!;
  expect(batch.sequences / batch.steps).toBeGreaterThan(2);
});
