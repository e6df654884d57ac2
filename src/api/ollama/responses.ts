/**
 * Ollama response bodies, in the wire's spelling. Durations are nanoseconds; times are RFC 3339
 * strings with nanosecond precision, as Go's time.Time marshals them.
 */

type OllamaDoneReason = "stop" | "length" | "load" | "unload";

/** Timings of a final chunk (all nanoseconds except the counts). */
export interface FinalStatsWire {
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
  prompt_eval_duration: number;
  eval_count: number;
  eval_duration: number;
}

export interface GenerateChunkWire extends Partial<FinalStatsWire> {
  model: string;
  created_at: string;
  response: string;
  /** A thinking model's reasoning, apart from `response`. */
  thinking?: string;
  done: boolean;
  done_reason?: OllamaDoneReason;
  context?: number[];
}

export interface ToolCallOutWire {
  id?: string;
  function: { index?: number; name: string; arguments: Record<string, unknown> };
}

export interface ChatChunkWire extends Partial<FinalStatsWire> {
  model: string;
  created_at: string;
  message: { role: "assistant"; content: string; thinking?: string; tool_calls?: ToolCallOutWire[] };
  done: boolean;
  done_reason?: OllamaDoneReason;
}

export interface EmbedResponseWire {
  model: string;
  embeddings: number[][];
  total_duration: number;
  load_duration: number;
  prompt_eval_count: number;
}

export interface EmbeddingsResponseWire {
  embedding: number[];
}

/** `details` of a model in /api/tags, /api/ps and /api/show (Ollama's api.ModelDetails). */
interface ModelDetailsWire {
  parent_model: string;
  format: string;
  family: string;
  families: string[] | null;
  parameter_size: string;
  quantization_level: string;
}

export interface ModelEntryWire {
  name: string;
  model: string;
  modified_at: string;
  size: number;
  digest: string;
  details: ModelDetailsWire;
}

export interface TagsResponseWire {
  models: ModelEntryWire[];
}

export interface RunningModelWire {
  name: string;
  model: string;
  size: number;
  digest: string;
  details: ModelDetailsWire;
  expires_at: string;
  size_vram: number;
  context_length: number;
  /** aixcl: resident memory of the runner process now, bytes (`size` is the estimate). */
  size_rss: number;
}

export interface PsResponseWire {
  models: RunningModelWire[];
}

export interface StatusWire {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface VersionResponseWire {
  version: string;
}

/** Body of /api/show as this server answers it (Ollama's api.ShowResponse). */
export interface ShowResponseWire {
  license: string;
  modelfile: string;
  parameters: string;
  template: string;
  system: string;
  details: ModelDetailsWire;
  /** GGUF metadata; arrays are null unless verbose. */
  model_info: Record<string, unknown>;
  capabilities: string[];
  /** RFC 3339 time of the manifest. */
  modified_at: string;
  /** Preset messages, only when the model has some. */
  messages?: { role: string; content: string }[];
  /** Tensor list, only when verbose. */
  tensors?: { name: string; type: string; shape: number[] }[];
}

export interface ErrorResponseWire {
  error: string;
}
