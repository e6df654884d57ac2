import type { Context } from "hono";
import type { Completion } from "../../../api/openai/completions.js";
import { completionRequestSchema } from "../../../api/openai/completions.js";
import type { FinishReason } from "../../../api/openai/common.js";
import type { InferenceEvent } from "../../../engine/inference/types.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { toCompletionRequest } from "./mapping.js";
import { completionId, finishReason, noDone, nowSeconds, SYSTEM_FINGERPRINT, usageOf } from "./response.js";
import { linkAbort, sseResponse } from "./stream.js";
import { parseBody } from "./validate.js";

type Events = AsyncGenerator<InferenceEvent, void, undefined>;

interface Meta {
  id: string;
  created: number;
  model: string;
}

function completion(meta: Meta, text: string, finish: FinishReason | null): Completion {
  return {
    id: meta.id,
    object: "text_completion",
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
  };
}

async function collect(
  first: IteratorResult<InferenceEvent, void>,
  events: Events,
  meta: Meta,
  deps: ServerDeps,
) {
  let text = "";
  for (let step = first; !step.done; step = await events.next()) {
    const event = step.value;
    switch (event.type) {
      case "text":
        text += event.text;
        break;
      case "tool_calls":
        // complete() is given no tools, so the service never reports calls here.
        break;
      case "done":
        deps.metrics.observeGeneration(event.model.name, event.stats);
        return {
          ...completion(meta, text, finishReason(event.stats.doneReason, false)),
          usage: usageOf(event.stats),
        };
    }
  }
  throw noDone();
}

async function* chunks(
  first: IteratorResult<InferenceEvent, void>,
  events: Events,
  meta: Meta,
  includeUsage: boolean,
  deps: ServerDeps,
): AsyncGenerator<Completion, void> {
  const usage = includeUsage ? { usage: null } : {};
  let done = false;
  try {
    for (let step = first; !step.done; step = await events.next()) {
      const event = step.value;
      switch (event.type) {
        case "text":
          if (event.text !== "") yield { ...completion(meta, event.text, null), ...usage };
          break;
        case "tool_calls":
          break;
        case "done":
          done = true;
          deps.metrics.observeGeneration(event.model.name, event.stats);
          yield { ...completion(meta, "", finishReason(event.stats.doneReason, false)), ...usage };
          if (includeUsage) yield { ...completion(meta, "", null), choices: [], usage: usageOf(event.stats) };
          break;
      }
    }
  } finally {
    await events.return(undefined);
  }
  if (!done) throw noDone();
}

/** POST /v1/completions: raw text continuation (no chat template). */
export function completions(deps: ServerDeps) {
  return async (c: Context): Promise<Response> => {
    const wire = parseBody(completionRequestSchema, await readJsonBody(c));
    const abort = linkAbort(c.req.raw.signal);
    try {
      const events = deps.inference.complete(toCompletionRequest(wire, abort.signal));
      // First event before headers: pre-output failures are real HTTP errors.
      const first = await events.next();
      const meta: Meta = {
        id: completionId("cmpl"),
        created: nowSeconds(),
        model: wire.model,
      };
      if (wire.stream === true) {
        const includeUsage = wire.stream_options?.include_usage === true;
        return sseResponse(chunks(first, events, meta, includeUsage, deps), abort, deps.logger);
      }
      // Returning on the done event leaves the generator parked after it: close it so the
      // service's cleanup runs now, not whenever it is collected.
      const result = await collect(first, events, meta, deps).finally(() => events.return(undefined));
      abort.dispose();
      return c.json(result);
    } catch (error: unknown) {
      abort.dispose();
      throw error;
    }
  };
}
