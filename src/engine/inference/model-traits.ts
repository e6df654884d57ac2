import { readGgufInfo } from "../../models/gguf/reader.js";
import type { GgufInfo, GgufValue } from "../../models/gguf/reader.js";
import type { ModelRecord } from "../../models/types.js";

/** What the inference service needs from a model's GGUF header. */
export interface ModelTraits {
  /** `tokenizer.chat_template`, when the file has one. */
  chatTemplate: string | undefined;
  /** Text of the BOS/EOS tokens (for templates' `bos_token`/`eos_token`); "" when unknown. */
  bosToken: string;
  eosToken: string;
  /** Whether llama.cpp prepends BOS itself when tokenizing (then a template's leading BOS is dropped). */
  addBos: boolean;
  /** An embedding-only model (`<arch>.pooling_type` present, as Ollama decides): no chat/generate. */
  embeddingOnly: boolean;
  /** `<arch>.context_length`: the runner caps num_ctx at it; undefined when the file has none. */
  trainedContext: number | undefined;
}

function tokenText(metadata: Record<string, GgufValue>, key: string): string {
  const id = metadata[key];
  const tokens = metadata["tokenizer.ggml.tokens"];
  if ((typeof id !== "number" && typeof id !== "bigint") || !Array.isArray(tokens)) return "";
  const token = tokens[Number(id)];
  return typeof token === "string" ? token : "";
}

function positive(value: GgufValue | undefined): number | undefined {
  const n = typeof value === "bigint" ? Number(value) : value;
  return typeof n === "number" && n > 0 ? n : undefined;
}

export function traitsFromGguf(info: Pick<GgufInfo, "metadata" | "architecture">): ModelTraits {
  const { metadata } = info;
  const template = metadata["tokenizer.chat_template"];
  const addBos = metadata["tokenizer.ggml.add_bos_token"];
  const vocabModel = metadata["tokenizer.ggml.model"];
  return {
    chatTemplate: typeof template === "string" && template !== "" ? template : undefined,
    bosToken: tokenText(metadata, "tokenizer.ggml.bos_token_id"),
    eosToken: tokenText(metadata, "tokenizer.ggml.eos_token_id"),
    // llama.cpp's default: SentencePiece ("llama") vocabularies add BOS unless the file says not to.
    addBos: typeof addBos === "boolean" ? addBos : vocabModel === "llama",
    embeddingOnly: `${info.architecture}.pooling_type` in metadata,
    trainedContext: positive(metadata[`${info.architecture}.context_length`]),
  };
}

export interface ModelTraitsCache {
  get(model: ModelRecord): Promise<ModelTraits>;
}

/**
 * Reads each model file's header once (keyed by the blob digest, so renamed or copied models
 * share an entry) and keeps the last `capacity` results.
 */
export function createModelTraitsCache(capacity = 64): ModelTraitsCache {
  const entries = new Map<string, Promise<ModelTraits>>();
  return {
    get(model) {
      const key = model.modelDigest;
      let entry = entries.get(key);
      if (entry) {
        entries.delete(key);
      } else {
        entry = readGgufInfo(model.modelPath).then(traitsFromGguf);
        // A failed read is not cached: the next request tries again.
        void entry.catch(() => entries.delete(key));
      }
      entries.set(key, entry);
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
      return entry;
    },
  };
}
