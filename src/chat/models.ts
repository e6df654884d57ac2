/**
 * The models the web chat offers: installed models that can chat, i.e. all but embedding-only
 * ones (the same test the inference service applies before refusing a chat: a `pooling_type` in
 * the GGUF header, src/engine/inference/model-traits.ts), and which of them think.
 */
import { createModelTraitsCache } from "../engine/inference/model-traits.js";
import { thinkingTags } from "../models/thinking-tags.js";
import type { ModelRecord, ModelStore } from "../models/types.js";

export interface ChatModels {
  /** Chat-capable installed models, sorted by name. */
  list(): Promise<ModelRecord[]>;
  /**
   * Whether `record` thinks: the template inference renders it with (the model's template layer,
   * else the GGUF's chat template; src/engine/inference/service.ts) is a thinking one, the test
   * behind /api/show's `thinking` capability. Asking any other model to think is a 400.
   */
  thinks(record: ModelRecord): Promise<boolean>;
}

export function createChatModels(store: Pick<ModelStore, "list">): ChatModels {
  // Headers are read once per model file (the cache is keyed by blob digest).
  const traits = createModelTraitsCache();
  return {
    async list() {
      const records = await store.list();
      const checked = await Promise.all(
        records.map(async (record) => {
          try {
            return (await traits.get(record)).embeddingOnly ? undefined : record;
          } catch {
            // A header that cannot be read cannot be chatted with either.
            return undefined;
          }
        }),
      );
      return checked
        .filter((record): record is ModelRecord => record !== undefined)
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async thinks(record) {
      const template = record.template || (await traits.get(record)).chatTemplate || "";
      return thinkingTags(template) !== undefined;
    },
  };
}
