/**
 * Ollama response bodies, in the wire's spelling. Durations are nanoseconds; times are RFC 3339
 * strings with nanosecond precision, as Go's time.Time marshals them.
 */
import type { ModelDetails } from "../../models/types.js";

export type OllamaDoneReason = "stop" | "length" | "load" | "unload";

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
  message: { role: "assistant"; content: string; tool_calls?: ToolCallOutWire[] };
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

export interface ModelEntryWire {
  name: string;
  model: string;
  modified_at: string;
  size: number;
  digest: string;
  details: ModelDetails;
}

export interface TagsResponseWire {
  models: ModelEntryWire[];
}

export interface RunningModelWire {
  name: string;
  model: string;
  size: number;
  digest: string;
  details: ModelDetails;
  expires_at: string;
  size_vram: number;
  context_length: number;
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

export interface ErrorResponseWire {
  error: string;
}
