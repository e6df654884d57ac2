import { randomBytes } from "node:crypto";
import type { FinishReason, Usage } from "../../../api/openai/common.js";
import type { DoneReason, GenerateStats } from "../../../engine/types.js";
import { AppError } from "../../../errors.js";

/** Response pieces shared by /chat/completions and /completions. */

/** Sent as `system_fingerprint`: identifies the backend, as OpenAI's names its configuration. */
export const SYSTEM_FINGERPRINT = "fp_aixcl";

/** `chatcmpl-…` / `cmpl-…`: random, so ids never collide across requests or restarts. */
export function completionId(prefix: "chatcmpl" | "cmpl"): string {
  return `${prefix}-${randomBytes(12).toString("hex")}`;
}

/** Unix seconds, as OpenAI's `created`. */
export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A stop after tool calls is reported as `tool_calls`, which is what clients loop on. */
export function finishReason(reason: DoneReason, sawToolCalls: boolean): FinishReason {
  if (reason === "length") return "length";
  return sawToolCalls ? "tool_calls" : "stop";
}

export function usageOf(stats: GenerateStats): Usage {
  return {
    prompt_tokens: stats.promptTokens,
    completion_tokens: stats.evalTokens,
    total_tokens: stats.promptTokens + stats.evalTokens,
  };
}

/** The generator ended without its `done` event: a service bug, reported rather than hidden. */
export const noDone = (): AppError => new AppError("internal", "generation ended without completing");
