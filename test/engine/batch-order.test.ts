/**
 * src/engine/runner/batching.ts puts each decode's batch in sequence-id order: for a context with
 * one KV stream per sequence, llama.cpp runs a batch as one micro-batch (one pass over the
 * weights) only while the sequence ids rise by one in batch order. Observed in-process on a real
 * node-llama-cpp context (tiny model) by recording the order its batches are filled in.
 */
import { getLlama } from "node-llama-cpp";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Llama, LlamaContext, LlamaModel } from "node-llama-cpp";
import { DecodeBatching } from "../../src/engine/runner/batching.js";
import { tinyModel } from "../support/test-models.js";

let llama: Llama;
let model: LlamaModel;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
  model = await llama.loadModel({ modelPath: await tinyModel() });
});

afterAll(async () => {
  await model.dispose();
  await llama.dispose();
});

/** Sequence ids in the order each decode's batch was filled (one array per llama_decode). */
function recordBatches(context: LlamaContext): number[][] {
  const batches: number[][] = [];
  const internal = context as unknown as { _ctx: Record<string | symbol, unknown> };
  const native = internal._ctx;
  internal._ctx = new Proxy(native, {
    get(target, property) {
      const value = target[property];
      if (typeof value !== "function") return value;
      if (property === "initBatch") {
        return (...args: unknown[]) => {
          batches.push([]);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      if (property === "addToBatch") {
        return (sequenceId: number, ...rest: unknown[]) => {
          batches.at(-1)?.push(sequenceId);
          return (value as (...a: unknown[]) => unknown).apply(target, [sequenceId, ...rest]);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return batches;
}

it("fills every batch of concurrent sequences in sequence-id order", async () => {
  const batching = new DecodeBatching();
  const context = await model.createContext({
    contextSize: 256,
    sequences: 4,
    threads: 1,
    batching: { itemPrioritizationStrategy: batching.strategy },
  });
  batching.attach(context);
  try {
    const sequences = [0, 1, 2, 3].map(() => context.getSequence());
    const batches = recordBatches(context);
    // Started (and so queued) out of id order.
    await Promise.all(
      [2, 0, 3, 1].map(async (index, n) => {
        const sequence = sequences[index]!;
        const prompt = model.tokenize(`stream ${n}`);
        let produced = 0;
        for await (const _token of batching.lockstep(sequence.evaluate(prompt, { temperature: 0 }))) {
          if (++produced >= 8) break;
        }
      }),
    );
    const shared = batches.filter((batch) => batch.length === 4);
    expect(shared.length).toBeGreaterThanOrEqual(6);
    for (const batch of shared) expect(batch).toEqual([0, 1, 2, 3]);
  } finally {
    await context.dispose();
  }
});
