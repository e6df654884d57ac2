/**
 * Ollama request bodies, in the wire's own spelling (snake_case), as Ollama's api/types.go and
 * docs/api.md define them. Objects are not strict: Ollama ignores fields it does not know, and
 * clients (ollama-js, Open WebUI) send extra ones.
 */
import { z } from "zod";

/** `model` is the field; older clients send `name` (Ollama still accepts it on show/delete/create). */
const modelName = z.string().min(1);

/** A Go duration string ("5m", "-1") or a number of seconds. Parsed later with config/duration.ts. */
const keepAliveSchema = z.union([z.number(), z.string()]);

/** Ollama `options`: validated per key by the options mapper, which knows each type. */
const optionsSchema = z.record(z.string(), z.unknown());

/** `format`: "json", "" (none), or a JSON schema object. */
const formatSchema = z.union([z.literal("json"), z.literal(""), z.record(z.string(), z.unknown())], {
  error: 'must be "json" or a JSON schema object',
});

/** `think`: a boolean, or an effort level for models that take one. */
const thinkSchema = z.union([z.boolean(), z.enum(["high", "medium", "low"])], {
  error: 'must be true, false, "high", "medium" or "low"',
});

export const generateRequestSchema = z.object({
  model: modelName,
  prompt: z.string().optional(),
  suffix: z.string().optional(),
  system: z.string().optional(),
  template: z.string().optional(),
  context: z.array(z.number().int().nonnegative()).optional(),
  stream: z.boolean().optional(),
  raw: z.boolean().optional(),
  format: formatSchema.optional(),
  images: z.array(z.string()).optional(),
  options: optionsSchema.optional(),
  keep_alive: keepAliveSchema.optional(),
  think: thinkSchema.optional(),
  /** false: a prompt beyond num_ctx is refused instead of losing its oldest context. Default true. */
  truncate: z.boolean().optional(),
});
export type GenerateRequestWire = z.infer<typeof generateRequestSchema>;

const toolCallSchema = z.object({
  id: z.string().optional(),
  function: z.object({
    index: z.number().int().optional(),
    name: z.string().min(1),
    arguments: z.record(z.string(), z.unknown()).default({}),
  }),
});

export const chatMessageSchema = z.object({
  role: z.enum(["system", "user", "assistant", "tool"]),
  content: z.string().default(""),
  images: z.array(z.string()).optional(),
  tool_calls: z.array(toolCallSchema).optional(),
  tool_name: z.string().optional(),
  /** OpenAI-style id some clients also send on tool results. */
  tool_call_id: z.string().optional(),
  thinking: z.string().optional(),
});

const toolSchema = z.object({
  type: z.literal("function").default("function"),
  function: z.object({
    name: z.string().min(1),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const chatRequestSchema = z.object({
  model: modelName,
  messages: z.array(chatMessageSchema).optional(),
  tools: z.array(toolSchema).optional(),
  stream: z.boolean().optional(),
  format: formatSchema.optional(),
  options: optionsSchema.optional(),
  keep_alive: keepAliveSchema.optional(),
  think: thinkSchema.optional(),
  /** false: a history beyond num_ctx is refused instead of losing its oldest turns. Default true. */
  truncate: z.boolean().optional(),
});
export type ChatRequestWire = z.infer<typeof chatRequestSchema>;

export const embedRequestSchema = z.object({
  model: modelName,
  input: z.union([z.string(), z.array(z.string())]).optional(),
  truncate: z.boolean().optional(),
  dimensions: z.number().int().positive().optional(),
  options: optionsSchema.optional(),
  keep_alive: keepAliveSchema.optional(),
});

export const embeddingsRequestSchema = z.object({
  model: modelName,
  prompt: z.string().optional(),
  options: optionsSchema.optional(),
  keep_alive: keepAliveSchema.optional(),
});

/** Moves the legacy `name` into `model` when `model` is absent. */
function legacyName(value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  if (record.model === undefined && record.name !== undefined) return { ...record, model: record.name };
  return value;
}

export const showRequestSchema = z.preprocess(
  legacyName,
  z.object({ model: modelName, verbose: z.boolean().optional() }),
);

export const deleteRequestSchema = z.preprocess(legacyName, z.object({ model: modelName }));

export const copyRequestSchema = z.object({ source: modelName, destination: modelName });

/** Ollama's PullRequest: `model` (older clients send `name`), `insecure`, `stream`. The name's rules are checked by the route (parseModelName) for its exact error. */
export const pullRequestSchema = z.preprocess(
  legacyName,
  z.object({
    model: z.string().min(1),
    insecure: z.boolean().optional(),
    stream: z.boolean().optional(),
  }),
);

export const createRequestSchema = z.preprocess(
  legacyName,
  z.object({
    model: modelName,
    from: z.string().min(1).optional(),
    files: z.record(z.string(), z.string()).optional(),
    adapters: z.record(z.string(), z.string()).optional(),
    template: z.string().optional(),
    system: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    license: z.union([z.string(), z.array(z.string())]).optional(),
    messages: z.array(z.object({ role: z.string(), content: z.string() })).optional(),
    quantize: z.string().optional(),
    stream: z.boolean().optional(),
  }),
);
export type CreateRequestWire = z.infer<typeof createRequestSchema>;
