/**
 * The web app's JSON routes under `/api/aixcl/` (docs/web-app.md), in the wire's spelling:
 * request schemas (zod: parse and type in one) and the shapes the server answers.
 */
import { z } from "zod";

const optionsSchema = z
  .object({
    temperature: z.number().min(0).max(100).optional(),
    num_ctx: z.number().int().min(1).max(1_048_576).optional(),
    num_predict: z.number().int().min(-2).max(1_048_576).optional(),
  })
  .strict();

const title = z.string().max(512);
const modelName = z.string().min(1).max(512);
const system = z.string().max(100_000).nullable();

export const createConversationRequestSchema = z
  .object({
    model: modelName.nullable().optional(),
    title: title.optional(),
    system: system.optional(),
    options: optionsSchema.optional(),
  })
  .strict();

export const patchConversationRequestSchema = z
  .object({
    title: title.optional(),
    pinned: z.boolean().optional(),
    model: modelName.nullable().optional(),
    system: system.optional(),
    options: optionsSchema.optional(),
  })
  .strict();

export const sendMessageRequestSchema = z
  .object({
    content: z.string().min(1),
    parent_id: z.string().nullable(),
    model: modelName.optional(),
  })
  .strict();

export const listConversationsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).optional(),
  cursor: z.string().max(200).optional(),
  q: z.string().max(500).optional(),
});

export interface ChatModelWire {
  name: string;
  parameter_size: string;
  quantization: string;
  family: string;
  modified_at: string;
}

export interface ConversationWire {
  id: string;
  title: string;
  model: string | null;
  pinned: boolean;
  system: string | null;
  options: { temperature?: number; num_ctx?: number; num_predict?: number };
  created_at: string;
  updated_at: string;
}

export interface MessageWire {
  id: string;
  parent_id: string | null;
  role: "user" | "assistant" | "system" | "tool";
  content: string;
  /** A thinking model's reasoning, apart from `content`; null when there is none. */
  thinking: string | null;
  model: string | null;
  status: "done" | "streaming" | "stopped" | "error";
  error: { code: string; message: string } | null;
  tool_calls: { name: string; arguments: Record<string, unknown> }[] | null;
  stats: {
    prompt_tokens: number;
    completion_tokens: number;
    ttft_ms: number;
    tokens_per_second: number;
    total_ms: number;
  } | null;
  created_at: string;
}

export type ChatStreamEventWire =
  | { type: "start"; user_message?: MessageWire; message: MessageWire; conversation?: ConversationWire }
  | { type: "delta"; content: string }
  | { type: "thinking"; content: string }
  | { type: "tool_calls"; tool_calls: NonNullable<MessageWire["tool_calls"]> }
  | { type: "done"; message: MessageWire };

/** Every error of these routes: `{ "error": { "code", "message" } }` with the code's HTTP status. */
export interface WebErrorWire {
  error: { code: string; message: string };
}
