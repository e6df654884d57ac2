/**
 * A model's memory before it is loaded, from its GGUF header alone (no llama.cpp in the server
 * process: importing node-llama-cpp costs over a second there). Three parts, as Ollama counts
 * them: the weights (every tensor's bytes), the KV cache (all slots: llama.cpp's unified cache
 * holds `num_ctx × num_parallel` cells) and the compute buffers (an estimate, below). The
 * scheduler adds these up across runners to decide what fits (docs/engine.md, Memory).
 */
import { readGgufInfo } from "../models/gguf/reader.js";
import type { GgufInfo, GgufValue } from "../models/gguf/reader.js";

export type KvCacheType = "f16" | "q8_0" | "q4_0";
export type FlashAttention = "auto" | "on" | "off";

/** Bytes per cached element: f16 is 2; q8_0 and q4_0 store blocks of 32 with an f16 scale. */
const KV_BYTES_PER_ELEMENT: Readonly<Record<KvCacheType, number>> = {
  f16: 2,
  q8_0: 34 / 32,
  q4_0: 18 / 32,
};

/** Elements per block of q8_0 and q4_0. */
const QUANT_BLOCK = 32;

/**
 * The KV cache type a model can really use: llama.cpp refuses a q8_0/q4_0 cache whose heads are
 * not whole blocks of 32 elements ("does not divide n_embd_head_k"), so such a model gets f16, as
 * Ollama falls back for models that do not support the configured type.
 */
export function kvCacheTypeFor(shape: ModelShape, wanted: KvCacheType): KvCacheType {
  if (wanted === "f16") return wanted;
  return shape.keyLength % QUANT_BLOCK === 0 && shape.valueLength % QUANT_BLOCK === 0 ? wanted : "f16";
}

/** llama.cpp rounds a context's cells up to a multiple of 256. */
const CONTEXT_PADDING = 256;
/** llama.cpp's default logical batch (node-llama-cpp's too). */
const DEFAULT_BATCH = 512;

/** What the estimate needs from a GGUF header (kept instead of the header: vocabularies are large). */
export interface ModelShape {
  weightsBytes: number;
  nLayer: number;
  nEmbd: number;
  nHead: number;
  nFf: number;
  nVocab: number;
  /** Sum over layers of (K + V) elements per cached token: n_head_kv × (key_length + value_length). */
  kvElementsPerToken: number;
  /** n_ctx_train; 0 when the header does not say. */
  contextTrain: number;
  /** Elements per K and V head: a quantized cache needs both to be whole blocks of 32. */
  keyLength: number;
  valueLength: number;
}

export interface MemoryEstimate {
  weightsBytes: number;
  kvCacheBytes: number;
  computeBytes: number;
  totalBytes: number;
  /** Context cells per sequence after capping at n_ctx_train. */
  contextLength: number;
}

export interface EstimateOptions {
  numCtx: number;
  parallel: number;
  kvCacheType: KvCacheType;
  flashAttention: FlashAttention;
  numBatch?: number;
}

function numberOf(value: GgufValue | undefined): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  return undefined;
}

/** A per-layer value: a number for every layer, or an array (hybrid models vary it by layer). */
function perLayer(value: GgufValue | undefined, layers: number, fallback: number): number[] {
  if (Array.isArray(value)) {
    return Array.from({ length: layers }, (_, i) => numberOf(value[i]) ?? fallback);
  }
  return new Array<number>(layers).fill(numberOf(value) ?? fallback);
}

export function modelShape(info: GgufInfo): ModelShape {
  const meta = info.metadata;
  const key = (name: string) => meta[`${info.architecture}.${name}`];
  const nLayer = numberOf(key("block_count")) ?? 0;
  const nEmbd = numberOf(key("embedding_length")) ?? 0;
  const heads = perLayer(key("attention.head_count"), nLayer, 0);
  const nHead = Math.max(0, ...heads);
  const headsKv = perLayer(key("attention.head_count_kv"), nLayer, 0).map(
    (kv, i) => (kv > 0 ? kv : heads[i]) ?? 0,
  );
  const headDim = nHead > 0 ? nEmbd / nHead : 0;
  const keyLength = numberOf(key("attention.key_length")) ?? headDim;
  const valueLength = numberOf(key("attention.value_length")) ?? headDim;
  const tokens = meta["tokenizer.ggml.tokens"];
  const weightsBytes = info.tensors.reduce((sum, t) => sum + Number(t.sizeBytes), 0);
  return {
    weightsBytes,
    nLayer,
    nEmbd,
    nHead,
    nFf: Math.max(0, ...perLayer(key("feed_forward_length"), nLayer, 0)),
    nVocab: numberOf(key("vocab_size")) ?? (Array.isArray(tokens) ? tokens.length : 0),
    kvElementsPerToken: headsKv.reduce((sum, kv) => sum + kv * (keyLength + valueLength), 0),
    contextTrain: numberOf(key("context_length")) ?? 0,
    keyLength,
    valueLength,
  };
}

/** Reads the header of a model file and keeps its shape. */
export async function readModelShape(path: string): Promise<ModelShape> {
  return modelShape(await readGgufInfo(path));
}

/**
 * The memory a runner needs for this model and context. The compute buffers are an estimate
 * (llama.cpp sizes them by reserving a worst-case graph): 4 bytes × batch × (n_vocab + 4·n_embd +
 * n_ff) for the logits and the largest activations, plus, without flash attention, the attention
 * scores of a batch against the whole cache, 4 bytes × batch × cells × n_head. "auto" flash
 * attention counts as on: llama.cpp turns it on wherever the device supports it, the CPU included.
 */
export function estimateMemory(shape: ModelShape, options: EstimateOptions): MemoryEstimate {
  const contextLength =
    shape.contextTrain > 0 ? Math.min(options.numCtx, shape.contextTrain) : options.numCtx;
  const cells = Math.ceil((contextLength * options.parallel) / CONTEXT_PADDING) * CONTEXT_PADDING;
  const kvCacheBytes = Math.ceil(
    cells * shape.kvElementsPerToken * KV_BYTES_PER_ELEMENT[options.kvCacheType],
  );
  const batch = Math.min(options.numBatch ?? DEFAULT_BATCH, cells);
  const activations = 4 * batch * (shape.nVocab + 4 * shape.nEmbd + shape.nFf);
  const scores = options.flashAttention === "off" ? 4 * batch * cells * shape.nHead : 0;
  const computeBytes = activations + scores;
  return {
    weightsBytes: shape.weightsBytes,
    kvCacheBytes,
    computeBytes,
    totalBytes: shape.weightsBytes + kvCacheBytes + computeBytes,
    contextLength,
  };
}

/** Most sequences "auto" gives one context: beyond this, per-stream speed drops with little gain. */
const MAX_AUTO_PARALLEL = 4;
/** Share of free memory the auto rule lets the context (KV cache + compute buffers) take. */
const AUTO_MEMORY_SHARE = 0.5;

/**
 * The "auto" num_parallel rule: one sequence per core, at most 4, then one fewer at a time
 * while the context's memory for that many sequences (KV cache + compute buffers, which grow
 * with the count) exceeds half of the free memory.
 */
export function autoParallel(
  shape: ModelShape,
  options: Omit<EstimateOptions, "parallel">,
  cores: number,
  freeBytes: number,
): number {
  let parallel = Math.min(MAX_AUTO_PARALLEL, Math.max(1, cores));
  while (parallel > 1) {
    const estimate = estimateMemory(shape, { ...options, parallel });
    if (estimate.kvCacheBytes + estimate.computeBytes <= freeBytes * AUTO_MEMORY_SHARE) break;
    parallel--;
  }
  return parallel;
}

/** `5.2 GiB`, `310.0 MiB`: how the memory error names sizes. */
export function formatMemory(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}
