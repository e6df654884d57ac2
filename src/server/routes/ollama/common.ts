/** Pieces shared by the Ollama inference routes: wire ↔ internal mappings and the load/unload answer. */
import type { FinalStatsWire } from "../../../api/ollama/responses.js";
import { parseDuration } from "../../../config/duration.js";
import type { Inference } from "../../../engine/inference/types.js";
import type { GenerateStats, LoadOptions, OutputFormat } from "../../../engine/types.js";
import { AppError } from "../../../errors.js";

/** `keep_alive` (seconds or a Go duration) → ms; Infinity = forever; undefined = config default. */
export function keepAliveMs(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseDuration(value);
  if (ms === undefined) {
    throw new AppError(
      "invalid_request",
      `invalid request: keep_alive: not a duration: ${JSON.stringify(value)}`,
      {
        param: "keep_alive",
      },
    );
  }
  return ms;
}

/** `format`: "json" → any JSON; an object → that JSON schema; "" or absent → free text. */
export function outputFormat(
  format: "json" | "" | Record<string, unknown> | undefined,
): OutputFormat | undefined {
  if (format === undefined || format === "") return undefined;
  if (format === "json") return { type: "json" };
  return { type: "json_schema", schema: format };
}

/** The timing fields of a final chunk, nanoseconds as integers (Go's int64 durations). */
export function finalStats(stats: GenerateStats): FinalStatsWire {
  return {
    total_duration: Math.round(stats.totalNs),
    load_duration: Math.round(stats.loadNs),
    prompt_eval_count: stats.promptTokens,
    prompt_eval_duration: Math.round(stats.promptEvalNs),
    eval_count: stats.evalTokens,
    eval_duration: Math.round(stats.evalNs),
  };
}

/**
 * What an empty /api/generate or /api/chat does: unloads the model with `keep_alive: 0`, loads
 * it otherwise. Returns the `done_reason` the answer carries.
 */
export async function loadOrUnload(
  inference: Inference,
  model: string,
  load: LoadOptions,
  keepAlive: number | undefined,
): Promise<"load" | "unload"> {
  if (keepAlive === 0) {
    await inference.unload(model);
    return "unload";
  }
  await inference.load(model, load, keepAlive);
  return "load";
}
