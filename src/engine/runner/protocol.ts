/**
 * IPC messages between the scheduler (parent) and a runner child process. Messages are
 * JSON-serialised by Node's IPC channel, so everything here is plain data. Token text travels
 * one small message per token (`t`): short keys keep the per-token cost down.
 */
import type { ErrorCode } from "../../errors.js";
import type { OutputFormat, SamplingOptions } from "../types.js";

/** What the runner needs to load a model. Sent once (after an optional `init`). */
export interface LoadSpec {
  modelPath: string;
  /** Requested context length per sequence; the runner caps it at the model's n_ctx_train. */
  numCtx: number;
  /** Sequences in the context (the scheduler resolves "auto" before the load). */
  numParallel: number;
  threads: number;
  gpu: "auto" | false;
  /** Layers offloaded to a GPU; undefined = auto. */
  gpuLayers?: number;
  numBatch?: number;
  useMmap?: boolean;
  /** KV cache element type (engine.kv_cache_type); q8_0 and q4_0 need flash attention. */
  kvCacheType: "f16" | "q8_0" | "q4_0";
  flashAttention: "auto" | "on" | "off";
  /** Speculative decoding (engine.speculative); absent = off. `draft` needs `draftModelPath`. */
  speculative?: "draft" | "lookup";
  /** GGUF of the draft model (the target's `draft_model` parameter), same vocabulary. */
  draftModelPath?: string;
}

export interface GenerateSpec {
  prompt: string;
  context?: number[];
  sampling: SamplingOptions;
  format?: OutputFormat;
  /** Generate without the format's grammar until this text has been generated (GenerateRequest). */
  formatAfter?: string;
}

export type ParentMessage =
  /**
   * Load llama.cpp now (a spare runner waiting for its model). `binaryTested`: a runner with the
   * same settings has loaded llama.cpp in this server before, so its binary test is skipped.
   */
  | { type: "init"; gpu: "auto" | false; binaryTested: boolean }
  | { type: "load"; spec: LoadSpec }
  | { type: "generate"; id: number; spec: GenerateSpec }
  | { type: "cancel"; id: number }
  | { type: "embed"; id: number; input: string[]; truncate: boolean }
  | { type: "tokenize"; id: number; text: string }
  /** Free the model and its contexts and wait for the next `load` (see RunnerPool). */
  | { type: "reset" }
  | { type: "shutdown" };

/** Facts about the loaded instance, reported once after a successful load. */
export interface LoadedInfo {
  parallel: number;
  /** Context length per sequence (after capping). */
  contextLength: number;
  /** node-llama-cpp's estimate of the GPU memory it uses (0 on a CPU). */
  sizeVramBytes: number;
  /** Whether node-llama-cpp test-loaded its binary in a subprocess first (./binary-test.ts). */
  binaryTest: "ran" | "skipped";
}

/** Timings measured in the runner, ns. The parent adds queueing and load time. */
export interface RunnerGenerateStats {
  doneReason: "stop" | "length";
  promptTokens: number;
  evalTokens: number;
  promptEvalNs: number;
  evalNs: number;
  /** From the start of the request in the runner to the first sampled token. */
  firstTokenNs: number;
  context: number[];
  /** Prompt tokens reused from the sequence's cache (not evaluated). */
  cachedTokens: number;
  /** The context's decode steps while this generation ran, and the sequences they carried. */
  batch?: { steps: number; sequences: number };
  /** Speculative decoding's proposals in this generation (only when it is on). */
  speculative?: { accepted: number; rejected: number };
}

export type ChildMessage =
  | { type: "loaded"; info: LoadedInfo }
  | { type: "load_error"; message: string }
  /** One piece of generated text. */
  | { type: "t"; id: number; s: string }
  | { type: "done"; id: number; stats: RunnerGenerateStats }
  /**
   * The end of a generation the parent cancelled: what it used until then (null when it had not
   * started), for the token counters. Every generation ends with one done, usage or error.
   */
  | { type: "usage"; id: number; stats: RunnerGenerateStats | null }
  | { type: "error"; id: number; code: ErrorCode; message: string }
  | { type: "embedded"; id: number; embeddings: number[][]; promptTokens: number }
  | { type: "tokens"; id: number; tokens: number[] }
  /** The model is freed: the runner can load another. */
  | { type: "reset" };
