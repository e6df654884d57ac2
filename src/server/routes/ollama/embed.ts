import type { Handler } from "hono";
import { embeddingsRequestSchema, embedRequestSchema } from "../../../api/ollama/requests.js";
import type { EmbeddingsResponseWire, EmbedResponseWire } from "../../../api/ollama/responses.js";
import { mapOllamaOptions } from "../../../engine/inference/options.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { parseWire } from "../../validate.js";
import { keepAliveMs } from "./common.js";

/**
 * POST /api/embed: `input` is a string or an array; an empty input only loads the model and
 * answers no embeddings (as Ollama does). `truncate` defaults to true; `dimensions` shortens
 * each vector.
 */
export function embedRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(embedRequestSchema, await readJsonBody(c));
    const keepAlive = keepAliveMs(wire.keep_alive);
    const { load } = mapOllamaOptions(wire.options);
    const input = wire.input === undefined ? [] : typeof wire.input === "string" ? [wire.input] : wire.input;
    if (input.length === 0 || (input.length === 1 && input[0] === "")) {
      const loaded = await deps.inference.load(wire.model, load, keepAlive);
      const body: EmbedResponseWire = {
        model: wire.model,
        embeddings: [],
        total_duration: Math.round(loaded.totalNs),
        load_duration: Math.round(loaded.loadNs),
        prompt_eval_count: 0,
      };
      return c.json(body);
    }
    const result = await deps.inference.embed({
      model: wire.model,
      input,
      truncate: wire.truncate ?? true,
      dimensions: wire.dimensions,
      load,
      keepAliveMs: keepAlive,
      // Fires when the client's socket closes.
      signal: c.req.raw.signal,
    });
    deps.metrics.observeEmbedding(result.model.name, result.promptTokens, result.totalNs);
    const body: EmbedResponseWire = {
      model: wire.model,
      embeddings: result.embeddings,
      total_duration: Math.round(result.totalNs),
      load_duration: Math.round(result.loadNs),
      prompt_eval_count: result.promptTokens,
    };
    return c.json(body);
  };
}

/** POST /api/embeddings (legacy): `{prompt}` → `{embedding}`; an empty prompt loads the model. */
export function embeddingsRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(embeddingsRequestSchema, await readJsonBody(c));
    const keepAlive = keepAliveMs(wire.keep_alive);
    const { load } = mapOllamaOptions(wire.options);
    if (!wire.prompt) {
      await deps.inference.load(wire.model, load, keepAlive);
      return c.json({ embedding: [] } satisfies EmbeddingsResponseWire);
    }
    const result = await deps.inference.embed({
      model: wire.model,
      input: [wire.prompt],
      truncate: true,
      load,
      keepAliveMs: keepAlive,
      // Fires when the client's socket closes.
      signal: c.req.raw.signal,
    });
    deps.metrics.observeEmbedding(result.model.name, result.promptTokens, result.totalNs);
    return c.json({ embedding: result.embeddings[0] ?? [] } satisfies EmbeddingsResponseWire);
  };
}
