import { z } from "zod";
import type { FinishReason, Usage } from "./common.js";
import { samplingShape } from "./common.js";

/** POST /v1/chat/completions, in OpenAI's spelling. */

const textPart = z.object({ type: z.literal("text"), text: z.string() });
const imagePart = z.object({
  type: z.literal("image_url"),
  // Older clients send the URL string directly instead of `{url}`.
  image_url: z.union([z.string(), z.object({ url: z.string(), detail: z.string().nullish() })]),
});
const contentPartSchema = z.discriminatedUnion("type", [textPart, imagePart]);
export type ContentPart = z.infer<typeof contentPartSchema>;

const toolCallSchema = z.object({
  id: z.string().nullish(),
  type: z.literal("function").nullish(),
  function: z.object({
    name: z.string().min(1),
    /** A JSON string of the arguments object (OpenAI's spelling; Ollama uses an object). */
    arguments: z.string(),
  }),
});

const chatMessageSchema = z.object({
  // "developer" is OpenAI's newer name for "system" (o1 and later).
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(contentPartSchema)]).nullish(),
  name: z.string().nullish(),
  tool_calls: z.array(toolCallSchema).nullish(),
  tool_call_id: z.string().nullish(),
  /** A past answer's reasoning, as this server (and llama-server, vLLM, Ollama) send it back. */
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
});
export type ChatMessageWire = z.infer<typeof chatMessageSchema>;

const toolSchema = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().min(1),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoiceSchema = z
  .union([
    z.enum(["none", "auto", "required"]),
    z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }) }),
  ])
  .nullish();

const responseFormatSchema = z
  .discriminatedUnion("type", [
    z.object({ type: z.literal("text") }),
    z.object({ type: z.literal("json_object") }),
    z.object({
      type: z.literal("json_schema"),
      json_schema: z.object({
        name: z.string().nullish(),
        description: z.string().nullish(),
        schema: z.record(z.string(), z.unknown()).nullish(),
        strict: z.boolean().nullish(),
      }),
    }),
  ])
  .nullish();

export const chatCompletionRequestSchema = z.object({
  ...samplingShape,
  messages: z.array(chatMessageSchema).min(1, "messages must not be empty"),
  /** Newer name of max_tokens; wins when both are set. */
  max_completion_tokens: z.number().int().min(1).nullish(),
  tools: z.array(toolSchema).nullish(),
  tool_choice: toolChoiceSchema,
  parallel_tool_calls: z.boolean().nullish(),
  response_format: responseFormatSchema,
  /** Token log-probabilities are not produced by this server; only false/absent is accepted. */
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().nullish(),
  /** Thinking effort (OpenAI's reasoning models); "none" turns thinking off. */
  reasoning_effort: z.string().nullish(),
  /** Ollama's and OpenRouter's spelling of the same: `{effort}`. Wins over reasoning_effort. */
  reasoning: z.object({ effort: z.string().nullish() }).nullish(),
});
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export interface ToolCallWire {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatCompletion {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: number;
    message: {
      role: "assistant";
      content: string | null;
      /** A thinking model's reasoning: llama-server's and vLLM's field, and Ollama's `reasoning`. */
      reasoning_content?: string;
      reasoning?: string;
      tool_calls?: ToolCallWire[];
    };
    logprobs: null;
    finish_reason: FinishReason;
  }[];
  usage: Usage;
}

export interface ChatCompletionChunk {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  system_fingerprint: string;
  choices: {
    index: number;
    delta: {
      role?: "assistant";
      content?: string;
      reasoning_content?: string;
      reasoning?: string;
      tool_calls?: (ToolCallWire & { index: number })[];
    };
    logprobs: null;
    finish_reason: FinishReason | null;
  }[];
  /** Present (null until the last chunk) only when `stream_options.include_usage` is set. */
  usage?: Usage | null;
}
