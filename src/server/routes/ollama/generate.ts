import type { Handler } from "hono";
import { generateRequestSchema } from "../../../api/ollama/requests.js";
import type { GenerateChunkWire } from "../../../api/ollama/responses.js";
import { mapOllamaOptions } from "../../../engine/inference/options.js";
import type { CompletionRequest, InferenceEvent } from "../../../engine/inference/types.js";
import type { GenerateStats } from "../../../engine/types.js";
import { AppError } from "../../../errors.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { linkAbort, primeIterator } from "../../streaming.js";
import { parseWire } from "../../validate.js";
import { finalStats, keepAliveMs, loadOrUnload, outputFormat } from "./common.js";
import { ndjsonResponse } from "./ndjson.js";
import { nowRfc3339Nano } from "./time.js";

function finalChunk(model: string, response: string, stats: GenerateStats, thinking = ""): GenerateChunkWire {
  return {
    model,
    created_at: nowRfc3339Nano(),
    response,
    ...(thinking === "" ? {} : { thinking }),
    done: true,
    done_reason: stats.doneReason,
    context: stats.context,
    ...finalStats(stats),
  };
}

/**
 * POST /api/generate. An empty prompt (no system, no template) only loads the model — or, with
 * `keep_alive: 0`, unloads it — and answers one object with done_reason "load"/"unload".
 */
export function generateRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(generateRequestSchema, await readJsonBody(c));
    const keepAlive = keepAliveMs(wire.keep_alive);
    const { sampling, load } = mapOllamaOptions(wire.options);
    const base = { model: wire.model, response: "", done: true } as const;

    if (!wire.prompt && !wire.system && !wire.template && !wire.images?.length) {
      const reason = await loadOrUnload(deps.inference, wire.model, load, keepAlive);
      return c.json({
        ...base,
        created_at: nowRfc3339Nano(),
        done_reason: reason,
      } satisfies GenerateChunkWire);
    }
    if (wire.images?.length) {
      // The engine has no vision projector support; say so instead of ignoring the images.
      throw new AppError("unsupported", "invalid request: images are not supported by this server's models", {
        param: "images",
      });
    }

    // Fires when the client's socket closes (@hono/node-server aborts Request.signal then).
    const abort = linkAbort(c.req.raw.signal, c.get("cut"));
    const request: CompletionRequest = {
      model: wire.model,
      prompt: wire.prompt ?? "",
      suffix: wire.suffix,
      system: wire.system,
      template: wire.template,
      raw: wire.raw ?? false,
      context: wire.context,
      sampling,
      load,
      format: outputFormat(wire.format),
      keepAliveMs: keepAlive,
      signal: abort.signal,
      think: wire.think,
      truncate: wire.truncate,
    };
    const events = await primeIterator<InferenceEvent>(deps.inference.complete(request));

    if (wire.stream === false) {
      let text = "";
      let thinking = "";
      for await (const event of events) {
        if (event.type === "text") text += event.text;
        else if (event.type === "thinking") thinking += event.text;
        else if (event.type === "done") {
          return c.json(finalChunk(wire.model, text, event.stats, thinking));
        }
      }
      throw new AppError("internal", "generation ended without a result");
    }

    return ndjsonResponse<InferenceEvent>(c, events, {
      logger: deps.logger,
      onCancel: () => abort.abort(),
      onEnd: abort.dispose,
      render: (event): GenerateChunkWire | undefined => {
        switch (event.type) {
          case "text":
            return { model: wire.model, created_at: nowRfc3339Nano(), response: event.text, done: false };
          case "thinking":
            return {
              model: wire.model,
              created_at: nowRfc3339Nano(),
              response: "",
              thinking: event.text,
              done: false,
            };
          case "done":
            return finalChunk(wire.model, "", event.stats);
          case "tool_calls":
            return undefined;
        }
      },
    });
  };
}
