import type { Context } from "hono";
import type { EmbeddingList } from "../../../api/openai/embeddings.js";
import { embeddingRequestSchema } from "../../../api/openai/embeddings.js";
import type { EmbedServiceRequest } from "../../../engine/inference/types.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { linkAbort } from "../../streaming.js";
import { parseBody } from "./validate.js";

/** OpenAI's base64 encoding: the vector's little-endian float32 bytes. */
export function float32Base64(vector: readonly number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  vector.forEach((value, i) => bytes.writeFloatLE(value, i * 4));
  return bytes.toString("base64");
}

/** POST /v1/embeddings */
export function embeddings(deps: ServerDeps) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const wire = parseBody(embeddingRequestSchema, await readJsonBody(c));
    const abort = linkAbort(c.req.raw.signal, c.get("cut"));
    try {
      const request: EmbedServiceRequest = {
        model: wire.model,
        input: typeof wire.input === "string" ? [wire.input] : wire.input,
        // Ollama's /v1/embeddings truncates over-long inputs rather than failing; so do we.
        truncate: true,
        load: {},
        signal: abort.signal,
      };
      if (wire.dimensions != null) request.dimensions = wire.dimensions;
      const result = await deps.inference.embed(request);
      deps.metrics.observeEmbedding(result.model.name, result.promptTokens, result.totalNs);
      const base64 = wire.encoding_format === "base64";
      const body: EmbeddingList = {
        object: "list",
        data: result.embeddings.map((vector, index) => ({
          object: "embedding",
          // Float32 values either way, so `float` and `base64` describe the very same vector.
          embedding: base64 ? float32Base64(vector) : vector.map(Math.fround),
          index,
        })),
        model: wire.model,
        usage: { prompt_tokens: result.promptTokens, total_tokens: result.promptTokens },
      };
      return c.json(body);
    } finally {
      abort.dispose();
    }
  };
}
