import type { ModelRecord } from "../models/types.js";

/** Sampling settings of one request (Ollama `options` / OpenAI fields, already mapped). */
export interface SamplingOptions {
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  typicalP?: number;
  seed?: number;
  repeatPenalty?: number;
  /** Tokens looked back for repeat/presence/frequency penalties; 0 disables, -1 = num_ctx. */
  repeatLastN?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  /** num_predict: most tokens to generate; undefined or -1 = until the context is full. */
  maxTokens?: number;
  /** Generation stops before any of these strings; they are not returned. */
  stop?: string[];
  /** Tokens of the prompt kept when the context overflows (num_keep). */
  numKeep?: number;
}

/** Settings that shape a loaded model instance (a change needs a reload). */
export interface LoadOptions {
  /** Context length in tokens per sequence; default from config, capped at the model's. */
  numCtx?: number;
  numBatch?: number;
  /** Layers offloaded to a GPU; 0 = CPU only; undefined = auto. */
  numGpu?: number;
  useMmap?: boolean;
  numThread?: number;
}

export type OutputFormat =
  | { type: "json" }
  | { type: "json_schema"; schema: Record<string, unknown> }
  | { type: "gbnf"; grammar: string };

export interface GenerateRequest {
  model: ModelRecord;
  /** The fully rendered prompt (templates are applied before the engine). Special tokens are parsed. */
  prompt: string;
  /** Token ids that precede the prompt (Ollama /api/generate `context`). */
  context?: number[];
  sampling: SamplingOptions;
  load: LoadOptions;
  format?: OutputFormat;
  /**
   * The format's grammar constrains only what follows the first occurrence of this text (a
   * thinking model's closing tag): the reasoning before it is free text, as in Ollama.
   */
  formatAfter?: string;
  /** How long the model stays loaded after this request, ms; Infinity = forever; undefined = config default. */
  keepAliveMs?: number;
  /** Aborting stops generation at once and frees the slot. */
  signal?: AbortSignal;
  /**
   * Called once the prompt has been handed to a runner: the caller may then use this thread (an
   * in-process database, say) without delaying the prompt's evaluation.
   */
  onSent?: () => void;
}

export type DoneReason = "stop" | "length";

export interface GenerateStats {
  doneReason: DoneReason;
  promptTokens: number;
  evalTokens: number;
  /** All durations in nanoseconds (Ollama's unit). */
  totalNs: number;
  loadNs: number;
  promptEvalNs: number;
  evalNs: number;
  /** Time from request to first generated token, ns (for metrics). */
  firstTokenNs: number;
  /** Prompt + generated token ids (Ollama's `context` for the next /api/generate). */
  context: number[];
  /** Prompt tokens served from the runner's prompt cache (OpenAI's `cached_tokens`). */
  cachedTokens?: number;
  /**
   * The runner context's decode steps while this generation ran and the sequences they carried
   * (sequences / steps = mean batch width: how well concurrent streams share decodes).
   */
  batch?: { steps: number; sequences: number };
  /** Speculative decoding's proposed tokens the model accepted and rejected (when it is on). */
  speculative?: { accepted: number; rejected: number };
}

export type GenerateEvent = { type: "text"; text: string } | { type: "done"; stats: GenerateStats };

export interface EmbedRequest {
  model: ModelRecord;
  input: string[];
  /** Truncate inputs longer than the context instead of failing. Default true. */
  truncate: boolean;
  load: LoadOptions;
  keepAliveMs?: number;
  signal?: AbortSignal;
}

export interface EmbedResult {
  embeddings: number[][];
  promptTokens: number;
  totalNs: number;
  loadNs: number;
}

/** A model currently loaded in a runner (for /api/ps and metrics). */
export interface LoadedModel {
  model: ModelRecord;
  /**
   * Bytes the memory budget accounts for the model: the estimate made before loading (weights +
   * KV cache + compute buffers), as Ollama's `size` is.
   */
  sizeBytes: number;
  /** Resident memory of the runner process now, bytes (0 where it cannot be read). */
  rssBytes: number;
  sizeVramBytes: number;
  contextLength: number;
  /** When it will be unloaded if idle; null = never. */
  expiresAt: Date | null;
  /** Parallel sequences (slots) the runner serves; `activeRequests` of them are busy. */
  slots: number;
  activeRequests: number;
  queuedRequests: number;
  /** Process id of the runner serving it (diagnostics; tests kill it to simulate a crash). */
  pid?: number;
}

/** Counters the engine exposes for /metrics. */
export interface EngineStats {
  queueDepth: number;
  activeRequests: number;
  runnerRestarts: number;
}

/**
 * The inference engine. Errors before the first event are thrown as AppError (`queue_full` with
 * retryAfter, `model_load_failed`, `runner_crashed`, `invalid_request`); after the first event a
 * failure ends the iteration by throwing AppError `runner_crashed` (or `client_closed` on abort).
 */
export interface Engine {
  /**
   * Throws AppError `queue_full` (with retryAfter) or `shutting_down` when a request for the model
   * named `modelName` (its display name, e.g. `tiny:latest`) would be refused now: the queue is
   * full and no loaded instance of it has a free slot. A cheap early check, so an overload is
   * refused before the model's record is read and its prompt rendered; acquiring a slot checks
   * again.
   */
  admit(modelName: string): void;
  generate(request: GenerateRequest): AsyncIterable<GenerateEvent>;
  embed(request: EmbedRequest): Promise<EmbedResult>;
  /** Loads (or refreshes keep-alive of) a model without generating. Returns load time in ns. */
  load(model: ModelRecord, load: LoadOptions, keepAliveMs?: number): Promise<{ loadNs: number }>;
  /** Unloads a model as soon as its in-flight requests finish. */
  unload(modelName: string): Promise<void>;
  /**
   * Token ids of a text, special tokens parsed. Uses any loaded instance of the model, or loads it
   * with `load` (the settings the request that follows will use, so it does not load twice).
   */
  tokenize(model: ModelRecord, text: string, load?: LoadOptions): Promise<number[]>;
  loaded(): LoadedModel[];
  stats(): EngineStats;
  close(): Promise<void>;
}
