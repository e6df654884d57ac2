/**
 * Speculative decoding (engine.speculative) through the real engine: greedy output with a draft
 * model or prompt lookup is the output without speculation, token for token, while proposals are
 * really made and accepted. One engine per mode, shared by the file; tiny generated models.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { createEngine } from "../../src/engine/create-engine.js";
import { MemoryPlanner } from "../../src/engine/scheduler-memory.js";
import type { Engine, SamplingOptions } from "../../src/engine/types.js";
import { silentLogger } from "../../src/logger.js";
import type { ModelRecord } from "../../src/models/types.js";
import { rejectedAppError } from "../support/app-error.js";
import { testEngineOptions } from "../support/build.js";
import { testRecord } from "../support/model-record.js";
import { HELLO_SCRIPT } from "../support/scripted-models.js";
import { scriptedModel, tinyModel } from "../support/test-models.js";
import { collect } from "../support/engine-streams.js";

const CHAT_PROMPT = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n";
/** 40 one-character pieces the loop model repeats forever (none is "\n", the prompt's last token). */
const LOOP_SCRIPT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn".split("");
const GREEDY: SamplingOptions = { temperature: 0, maxTokens: 60 };

const engines: Record<"off" | "draft" | "lookup", Engine> = {} as never;
let loop: ModelRecord;
let tiny: ModelRecord;
let hello: ModelRecord;
let trio: ModelRecord;

function withDraft(model: ModelRecord, draft: ModelRecord): ModelRecord {
  return {
    ...model,
    draft: { name: draft.name, modelPath: draft.modelPath, modelDigest: draft.modelDigest },
  };
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-spec-"));
  for (const mode of ["off", "draft", "lookup"] as const) {
    const config = configSchema.parse({
      home: dir,
      // One model at a time: loading the next frees the last one's runner into the worker's pool
      // (test/support/build.ts), where the next load takes it instead of starting a process.
      engine: { num_parallel: 1, context_length: 512, threads: 1, speculative: mode, max_loaded_models: 1 },
    });
    engines[mode] = createEngine({ config, logger: silentLogger(), ...testEngineOptions() });
  }
  loop = testRecord("spec-loop", await scriptedModel("spec-loop", LOOP_SCRIPT, { loop: true }));
  tiny = testRecord("tiny", await tinyModel());
  hello = testRecord("hello", await scriptedModel("hello", HELLO_SCRIPT));
  trio = testRecord("spec-trio", await scriptedModel("spec-trio", ["X", "Y", "Z"], { loop: true }));
});

afterAll(async () => {
  await Promise.all(Object.values(engines).map((engine) => engine.close()));
  await rm(dir, { recursive: true, force: true });
});

describe("speculative decoding", () => {
  it("with a draft model that agrees: the same greedy text, most tokens from accepted proposals", async () => {
    const request = { model: loop, prompt: CHAT_PROMPT, sampling: GREEDY, load: {} };
    const plain = await collect(engines.off, request);
    // The scripted draft is the target itself: it proposes exactly what the target samples.
    const drafted = await collect(engines.draft, { ...request, model: withDraft(loop, loop) });
    expect(plain.text).toBe(LOOP_SCRIPT.join("") + LOOP_SCRIPT.slice(0, 20).join(""));
    expect(drafted.text).toBe(plain.text);
    expect(drafted.stats.context).toEqual(plain.stats.context);
    expect(plain.stats.speculative).toBeUndefined();
    expect(drafted.stats.speculative?.accepted).toBeGreaterThan(30);
  });

  it("with a penalty that overrules the draft: the same text, the draft's later guesses rejected", async () => {
    // A 3-piece loop under a strong presence penalty: after "XYZ" each piece is penalized below
    // the others, so the target leaves the loop while the draft (greedy, no penalty) keeps
    // proposing it. Each batch position must be sampled with the penalty of the proposals
    // before it: sampled with the history alone, position 4 would take "X" again.
    const request = {
      model: trio,
      prompt: CHAT_PROMPT,
      sampling: { temperature: 0, maxTokens: 12, presencePenalty: 1000, repeatLastN: 64 },
      load: {},
    };
    const plain = await collect(engines.off, request);
    const drafted = await collect(engines.draft, { ...request, model: withDraft(trio, trio) });
    expect(plain.text.startsWith("XYZ")).toBe(true);
    expect(plain.text.startsWith("XYZX")).toBe(false);
    expect(drafted.text).toBe(plain.text);
    expect(drafted.stats.speculative?.accepted).toBeGreaterThanOrEqual(2);
    expect(drafted.stats.speculative?.rejected).toBeGreaterThan(0);
  });

  it("with prompt lookup on a prompt the answer copies: the same text, proposals accepted", async () => {
    // The loop model writes its script again: the prompt holds it, so lookup proposes from there.
    const prompt = `${CHAT_PROMPT.slice(0, -1)} ${LOOP_SCRIPT.join("")}${LOOP_SCRIPT.join("")}\n`;
    const request = { model: loop, prompt, sampling: GREEDY, load: {} };
    const plain = await collect(engines.off, request);
    const looked = await collect(engines.lookup, request);
    expect(looked.text).toBe(plain.text);
    expect(looked.stats.speculative?.accepted).toBeGreaterThan(20);
  });

  it("with prompt lookup on gibberish and the repeat penalty on: the same text", async () => {
    const prompt = `${CHAT_PROMPT}${"x=1; y=2; print(x+y)\n".repeat(4)}`;
    const request = { model: tiny, prompt, sampling: { temperature: 0, maxTokens: 80 }, load: {} };
    const plain = await collect(engines.off, request);
    const looked = await collect(engines.lookup, request);
    expect(looked.text).toBe(plain.text);
    expect(looked.stats.speculative).toBeDefined();
  });

  it("refuses a draft model whose vocabulary differs, and keeps serving", async () => {
    const error = await rejectedAppError(
      collect(engines.draft, {
        model: withDraft(tiny, hello),
        prompt: CHAT_PROMPT,
        sampling: GREEDY,
        load: {},
      }),
    );
    expect(error.code).toBe("model_load_failed");
    expect(error.message).toMatch(/draft model .* cannot draft for this model: .*vocabulary/i);
    const ok = await collect(engines.draft, { model: hello, prompt: CHAT_PROMPT, sampling: {}, load: {} });
    expect(ok.text).toBe(HELLO_SCRIPT.join(""));
  });

  it("counts the draft model's memory in the load's estimate", async () => {
    const planner = new MemoryPlanner({
      maxMemory: "auto",
      kvCacheType: "f16",
      flashAttention: "auto",
      cores: 1,
    });
    const spec = { modelPath: loop.modelPath, numCtx: 512, numParallel: 2, threads: 1, gpu: false as const };
    const alone = planner.plan(await planner.shape(loop), spec).estimate;
    const draft = planner.plan(await planner.shape(tiny), spec).estimate;
    const both = planner.plan(await planner.shape(withDraft(loop, tiny)), {
      ...spec,
      speculative: "draft",
      draftModelPath: tiny.modelPath,
    }).estimate;
    expect(both.totalBytes).toBe(alone.totalBytes + draft.totalBytes);
    expect(both.weightsBytes).toBe(alone.weightsBytes + draft.weightsBytes);
  });
});
