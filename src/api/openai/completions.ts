import { z } from "zod";
import type { FinishReason, Usage } from "./common.js";
import { samplingShape } from "./common.js";

/** POST /v1/completions (legacy text completion), in OpenAI's spelling. */
export const completionRequestSchema = z.object({
  ...samplingShape,
  // OpenAI also takes token arrays and several prompts; one string (or a list of one) is supported.
  prompt: z.union([z.string(), z.array(z.string())], {
    error: "must be a string or an array of strings (token arrays are not supported)",
  }),
  suffix: z.string().nullish(),
  /** Echoing the prompt back is not supported; only false/absent is accepted. */
  echo: z.boolean().nullish(),
  best_of: z.number().int().min(1).nullish(),
  /** Log-probabilities are not produced; only null/0 is accepted. */
  logprobs: z.number().int().min(0).nullish(),
});
export type CompletionRequestWire = z.infer<typeof completionRequestSchema>;

interface CompletionChoice {
  text: string;
  index: number;
  logprobs: null;
  finish_reason: FinishReason | null;
}

/** Both the whole response and each stream chunk use this shape (`object: "text_completion"`). */
export interface Completion {
  id: string;
  object: "text_completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: CompletionChoice[];
  usage?: Usage | null;
}
