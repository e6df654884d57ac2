/**
 * The memory estimate against numbers worked out by hand: from the header of a generated GGUF
 * (the tiny test model) and from a header shaped like Llama 3 8B (grouped-query attention),
 * whose f16 KV cache at 8192 tokens is a well-known 1 GiB.
 */
import { describe, expect, it } from "vitest";
import {
  autoParallel,
  estimateMemory,
  kvCacheTypeFor,
  modelShape,
  readModelShape,
} from "../../src/engine/memory-estimate.js";
import type { EstimateOptions } from "../../src/engine/memory-estimate.js";
import { readGgufInfo } from "../../src/models/gguf/reader.js";
import type { GgufInfo } from "../../src/models/gguf/reader.js";
import { tinyModel } from "../support/test-models.js";

const MiB = 2 ** 20;
const base: EstimateOptions = { numCtx: 1024, parallel: 2, kvCacheType: "f16", flashAttention: "auto" };

/** A header shaped like Llama 3 8B: 32 layers, 32 heads, 8 KV heads of 128, 8 GB of weights. */
function llama3Header(): GgufInfo {
  const metadata: GgufInfo["metadata"] = Object.assign(Object.create(null) as GgufInfo["metadata"], {
    "general.architecture": "llama",
    "llama.block_count": 32,
    "llama.embedding_length": 4096,
    "llama.attention.head_count": 32,
    "llama.attention.head_count_kv": 8,
    "llama.context_length": 8192,
    "llama.feed_forward_length": 14336,
    "llama.vocab_size": 128256,
  });
  return {
    version: 3,
    metadata,
    tensors: [{ name: "weights", dims: [1], type: 0, offset: 0n, sizeBytes: 8_000_000_000n }],
    architecture: "llama",
    parameterCount: 0,
    fileType: undefined,
    alignment: 32,
    dataOffset: 0n,
    fileSize: 0n,
  };
}

describe("memory estimate", () => {
  it("counts the tiny model's weights, KV cache and compute buffers from its header", async () => {
    const path = await tinyModel();
    const shape = await readModelShape(path);
    const info = await readGgufInfo(path);
    const vocab = (info.metadata["tokenizer.ggml.tokens"] as string[]).length;
    // The tiny model: n_embd 64, 2 layers, 4 heads (no GQA: 4 KV heads of 64/4 = 16), n_ff 128.
    expect(shape).toMatchObject({
      nLayer: 2,
      nEmbd: 64,
      nHead: 4,
      nFf: 128,
      nVocab: vocab,
      contextTrain: 2048,
    });
    // Weights: the tensor data, i.e. the file after its header less the alignment padding.
    const data = Number(info.fileSize - info.dataOffset);
    expect(shape.weightsBytes).toBeGreaterThan(data - 32 * info.tensors.length);
    expect(shape.weightsBytes).toBeLessThanOrEqual(data);

    const estimate = estimateMemory(shape, base);
    // 1024 tokens × 2 slots = 2048 cells × 2 layers × 4 heads × (16 K + 16 V) × 2 bytes.
    expect(estimate.kvCacheBytes).toBe(2048 * 2 * 4 * 32 * 2);
    expect(estimate.kvCacheBytes).toBe(1 * MiB);
    // Batch 512: 4 bytes × 512 × (n_vocab + 4 × 64 + 128).
    expect(estimate.computeBytes).toBe(4 * 512 * (vocab + 256 + 128));
    expect(estimate.totalBytes).toBe(shape.weightsBytes + 1 * MiB + estimate.computeBytes);
    expect(estimate.contextLength).toBe(1024);
  });

  it("q8_0 and q4_0 shrink the KV cache to 34/64 and 18/64 of f16", async () => {
    const shape = await readModelShape(await tinyModel());
    const f16 = estimateMemory(shape, base).kvCacheBytes;
    const q8 = estimateMemory(shape, { ...base, kvCacheType: "q8_0" }).kvCacheBytes;
    const q4 = estimateMemory(shape, { ...base, kvCacheType: "q4_0" }).kvCacheBytes;
    expect(q8).toBe((2048 * 2 * 4 * 32 * 34) / 32);
    expect(q4).toBe((2048 * 2 * 4 * 32 * 18) / 32);
    expect(q8 / f16).toBeLessThanOrEqual(0.55);
  });

  it("caps the context at n_ctx_train and pads the cells to 256", async () => {
    const shape = await readModelShape(await tinyModel());
    const capped = estimateMemory(shape, { ...base, numCtx: 100_000, parallel: 1 });
    expect(capped.contextLength).toBe(2048);
    expect(capped.kvCacheBytes).toBe(2048 * 2 * 4 * 32 * 2);
    // 300 cells are allocated as 512.
    expect(estimateMemory(shape, { ...base, numCtx: 300, parallel: 1 }).kvCacheBytes).toBe(
      512 * 2 * 4 * 32 * 2,
    );
  });

  it("a Llama-3-8B-shaped header: 1 GiB of f16 KV cache at 8192 tokens, grouped-query heads counted", () => {
    const shape = modelShape(llama3Header());
    const estimate = estimateMemory(shape, { ...base, numCtx: 8192, parallel: 1 });
    // 32 layers × 8192 cells × 8 KV heads × (128 + 128) × 2 bytes = 1 GiB.
    expect(estimate.kvCacheBytes).toBe(2 ** 30);
    expect(estimate.weightsBytes).toBe(8_000_000_000);
    // Flash attention off adds the attention scores: 4 bytes × 512 × 8192 cells × 32 heads.
    const off = estimateMemory(shape, { ...base, numCtx: 8192, parallel: 1, flashAttention: "off" });
    expect(off.computeBytes - estimate.computeBytes).toBe(4 * 512 * 8192 * 32);
  });

  it("auto parallel: one sequence per core up to 4, fewer while the context would take over half the free memory", () => {
    const shape = modelShape(llama3Header());
    const options = { numCtx: 8192, kvCacheType: "f16", flashAttention: "auto" } as const;
    expect(autoParallel(shape, options, 2, 64 * 2 ** 30)).toBe(2);
    expect(autoParallel(shape, options, 16, 64 * 2 ** 30)).toBe(4);
    // 2 sequences: 2 GiB of KV + ~0.3 GiB compute > half of 4 GiB; 1 sequence is the floor.
    expect(autoParallel(shape, options, 4, 4 * 2 ** 30)).toBe(1);
    const three = estimateMemory(shape, { ...options, parallel: 3 });
    const fits = 2 * (three.kvCacheBytes + three.computeBytes);
    expect(autoParallel(shape, options, 4, fits)).toBe(3);
  });
});

describe("KV cache type per model", () => {
  it("keeps q8_0/q4_0 for heads of whole 32-element blocks, f16 otherwise (llama.cpp refuses them)", async () => {
    const llama3 = modelShape(llama3Header());
    expect(kvCacheTypeFor(llama3, "q8_0")).toBe("q8_0");
    expect(kvCacheTypeFor(llama3, "q4_0")).toBe("q4_0");
    // The tiny model: 64 / 4 heads = 16 elements per head.
    const tiny = await readModelShape(await tinyModel());
    expect(tiny.keyLength).toBe(16);
    expect(kvCacheTypeFor(tiny, "q8_0")).toBe("f16");
    expect(kvCacheTypeFor(tiny, "f16")).toBe("f16");
  });
});
