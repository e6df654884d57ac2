/**
 * Runner side: embeddings through an embedding context, created on first use (a generation-only
 * model never pays for it). Vectors are L2-normalised like Ollama's /api/embed.
 */
import type { LlamaEmbeddingContext, LlamaModel } from "node-llama-cpp";
import { AppError } from "../../errors.js";

function normalize(vector: readonly number[]): number[] {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  return norm === 0 ? vector.slice() : vector.map((value) => value / norm);
}

export class Embedder {
  private context: Promise<LlamaEmbeddingContext> | undefined;

  constructor(
    private readonly model: LlamaModel,
    private readonly contextSize: number,
    private readonly threads: number,
  ) {}

  async embed(
    input: readonly string[],
    truncate: boolean,
  ): Promise<{ embeddings: number[][]; promptTokens: number }> {
    const context = await this.getContext();
    const embeddings: number[][] = [];
    let promptTokens = 0;
    for (const text of input) {
      let tokens = this.model.tokenize(text, true);
      // The context adds BOS/EOS when the model wants them; those count against its size too.
      const extra = context.calculateInputLength(tokens) - tokens.length;
      const limit = this.contextSize - 1 - extra;
      if (tokens.length > limit) {
        if (!truncate) {
          throw new AppError(
            "invalid_request",
            `input length (${tokens.length + extra} tokens) exceeds the context length (${this.contextSize})`,
          );
        }
        tokens = tokens.slice(0, Math.max(0, limit));
      }
      const embedding = await context.getEmbeddingFor(tokens);
      promptTokens += tokens.length + extra;
      embeddings.push(normalize(embedding.vector));
    }
    return { embeddings, promptTokens };
  }

  async dispose(): Promise<void> {
    const context = await this.context?.catch(() => undefined);
    this.context = undefined;
    await context?.dispose();
  }

  private getContext(): Promise<LlamaEmbeddingContext> {
    // Embeddings need the whole input in one batch, so the batch is the context size.
    if (!this.context) {
      const created = this.model.createEmbeddingContext({
        contextSize: this.contextSize,
        batchSize: this.contextSize,
        threads: this.threads,
      });
      // A failed creation is not cached: the next request tries again.
      created.catch(() => {
        if (this.context === created) this.context = undefined;
      });
      this.context = created;
    }
    return this.context;
  }
}
