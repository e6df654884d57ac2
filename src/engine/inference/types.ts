import type { ModelRecord } from "../../models/types.js";
import type { GenerateStats, LoadOptions, OutputFormat, SamplingOptions } from "../types.js";

/**
 * The one internal request type both API families map to. Adapters (server/routes/ollama and
 * server/routes/openai) translate their wire shapes to and from these; nothing here is wire-spelled.
 */
export interface ToolCall {
  /** OpenAI tool-call id (generated when the model gives none). */
  id: string;
  name: string;
  /** Parsed arguments (Ollama sends an object; OpenAI a JSON string of it). */
  arguments: Record<string, unknown>;
}

export interface ToolSpec {
  name: string;
  description?: string;
  /** JSON schema of the arguments. */
  parameters?: Record<string, unknown>;
}

export type ToolChoice = "auto" | "none" | "required" | { name: string };

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** Base64 images (accepted; models without vision reject them with invalid_request). */
  images?: string[];
  toolCalls?: ToolCall[];
  /** For role "tool": the tool's name (Ollama `tool_name`) and/or the call id (OpenAI `tool_call_id`). */
  toolName?: string;
  toolCallId?: string;
  /** A past assistant turn's reasoning (Ollama `thinking`), for templates that show it again. */
  thinking?: string;
}

/** `think`: on/off, or an effort level (gpt-oss style); a level also turns thinking on. */
export type ThinkSetting = boolean | "high" | "medium" | "low";

/** Options common to chat and completion requests. */
interface InferenceCommon {
  /** Model name as the client sent it (validated and resolved by the service). */
  model: string;
  sampling: SamplingOptions;
  load: LoadOptions;
  format?: OutputFormat;
  /** ms; Infinity = forever; undefined = config default. */
  keepAliveMs?: number;
  signal?: AbortSignal;
  /** See GenerateRequest.onSent: the prompt is with a runner. */
  onSent?: () => void;
  /**
   * Reasoning of thinking models. Absent: on for models that think (Ollama's default). true or a
   * level on a model that does not think: `invalid_request`.
   */
  think?: ThinkSetting;
  /**
   * What to do when the prompt outgrows the context: true (default) drops the oldest turns (chat)
   * or the oldest `context` tokens (generate); false refuses with `context_length_exceeded`.
   */
  truncate?: boolean;
}

export interface ChatRequest extends InferenceCommon {
  messages: ChatMessage[];
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
}

export interface CompletionRequest extends InferenceCommon {
  prompt: string;
  suffix?: string;
  /** Overrides the model's system prompt (Ollama `system`). */
  system?: string;
  /** Overrides the model's template (Ollama `template`). */
  template?: string;
  /** true: send the prompt as is, no template (Ollama `raw`, OpenAI /v1/completions). */
  raw: boolean;
  /** Token ids from a previous /api/generate response. */
  context?: number[];
}

export type InferenceEvent =
  | { type: "text"; text: string }
  /** Reasoning of a thinking model, split from the answer's text. */
  | { type: "thinking"; text: string }
  | { type: "tool_calls"; calls: ToolCall[] }
  | { type: "done"; stats: GenerateStats; model: ModelRecord };

export interface EmbedServiceRequest {
  model: string;
  input: string[];
  truncate: boolean;
  /** Matryoshka-style truncation of each vector to this many dimensions (then re-normalized). */
  dimensions?: number;
  load: LoadOptions;
  keepAliveMs?: number;
  signal?: AbortSignal;
}

export interface EmbedServiceResult {
  model: ModelRecord;
  embeddings: number[][];
  promptTokens: number;
  totalNs: number;
  loadNs: number;
}

/**
 * The inference service: resolves the model name in the store, merges the model's default
 * parameters under the request's, renders the chat template, runs the engine, parses tool calls.
 *
 * `chat` and `complete` are async generators: nothing runs until the first `next()`. Adapters
 * pull the first event before sending headers, so a failure before output (unknown model, queue
 * full, load failure) becomes a real HTTP error; a failure after it ends the stream in-band.
 */
export interface Inference {
  chat(request: ChatRequest): AsyncGenerator<InferenceEvent, void, undefined>;
  complete(request: CompletionRequest): AsyncGenerator<InferenceEvent, void, undefined>;
  embed(request: EmbedServiceRequest): Promise<EmbedServiceResult>;
  /** Loads a model (empty prompt / messages). */
  load(
    model: string,
    load: LoadOptions,
    keepAliveMs?: number,
  ): Promise<{ model: ModelRecord; loadNs: number; totalNs: number }>;
  /** Unloads a model (empty prompt with keep_alive 0). */
  unload(model: string): Promise<{ model: ModelRecord }>;
}
