import { z } from "zod";

/** POST /v1/embeddings, in OpenAI's spelling. */
export const embeddingRequestSchema = z.object({
  model: z.string({ error: "model is required" }).min(1, "model is required"),
  // OpenAI also takes token arrays; text inputs are supported. OpenAI refuses an empty string, and
  // an empty input would embed as an empty vector, which breaks a vector store of fixed dimensions.
  input: z.union(
    [
      z.string().min(1, "must not be an empty string"),
      z.array(z.string().min(1, "must not be an empty string")).min(1, "must not be an empty list"),
    ],
    { error: "must be a string or an array of strings (token arrays are not supported)" },
  ),
  /** `float` (default) or `base64`: little-endian float32 bytes, which the openai npm client asks for by default. */
  encoding_format: z.enum(["float", "base64"]).nullish(),
  dimensions: z.number().int().min(1).nullish(),
  user: z.string().nullish(),
});

export interface EmbeddingList {
  object: "list";
  data: { object: "embedding"; embedding: number[] | string; index: number }[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
