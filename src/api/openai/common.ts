import { z } from "zod";

/**
 * Pieces shared by the OpenAI request schemas. Fields are `nullish` because OpenAI clients
 * (and the SDKs' generated code) send `null` for "not set"; unknown fields are stripped, not
 * rejected, because every client version adds new ones.
 */

/** `stop`: one string or a list of them (OpenAI allows up to 4; more is harmless here). */
const stopSchema = z.union([z.string(), z.array(z.string())]).nullish();

const streamOptionsSchema = z
  .object({
    /** Send one more chunk with empty `choices` and the `usage` before `[DONE]`. */
    include_usage: z.boolean().nullish(),
  })
  .nullish();

/** Sampling fields common to /chat/completions and /completions. */
export const samplingShape = {
  model: z.string({ error: "model is required" }).min(1, "model is required"),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  seed: z.number().int().nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  stop: stopSchema,
  /** Only 1 is supported: one completion per request. */
  n: z.number().int().min(1).nullish(),
  stream: z.boolean().nullish(),
  stream_options: streamOptionsSchema,
  /** Accepted and ignored (OpenAI uses it for abuse monitoring). */
  user: z.string().nullish(),
} as const;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export type FinishReason = "stop" | "length" | "tool_calls";
