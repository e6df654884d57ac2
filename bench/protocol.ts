/** Messages between bench/engine.ts and its in-process baseline child (bench/baseline.ts). */
export type BaselineRequest =
  | { type: "prompt"; round: number; tokens: number }
  | { type: "measure"; prompt: string; decodeTokens: number }
  /** Aggregate decode of one stream, then of all `prompts` at once, in one multi-sequence context. */
  | { type: "concurrent"; prompts: string[]; decodeTokens: number }
  /** Resident memory a context's KV cache of this type takes (the runner's options). */
  | { type: "kv-memory"; kvCacheType: "f16" | "q8_0" }
  | { type: "exit" };

export type BaselineReply =
  | { type: "ready"; threads: number; contextSize: number }
  | { type: "prompt"; text: string }
  | { type: "measured"; promptTokens: number; promptTps: number; decodeTokens: number; decodeTps: number }
  | { type: "concurrent"; oneTps: number; manyTps: number }
  | { type: "kv-memory"; cells: number; allocatedMib: number; residentMib: number }
  | { type: "bye" }
  | { type: "error"; message: string };
