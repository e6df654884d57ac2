import type { LlamaModel } from "node-llama-cpp";

/**
 * The GGUF's token texts (`tokenizer.ggml.tokens`), as node-llama-cpp read them from the header:
 * the vocabulary, one entry per token id. Empty when the header has none.
 */
export function vocabulary(model: LlamaModel): readonly unknown[] {
  const metadata = model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: unknown } } };
  const tokens = metadata.tokenizer?.ggml?.tokens;
  return Array.isArray(tokens) ? tokens : [];
}
