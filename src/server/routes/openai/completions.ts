import type { Completion } from "../../../api/openai/completions.js";
import { completionRequestSchema } from "../../../api/openai/completions.js";
import type { FinishReason } from "../../../api/openai/common.js";
import type { ServerDeps } from "../../context.js";
import type { Events, FirstEvent, Meta } from "./handler.js";
import { generationHandler } from "./handler.js";
import { toCompletionRequest } from "./mapping.js";
import { finishReason, noDone, SYSTEM_FINGERPRINT, usageOf } from "./response.js";

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

async function collect(first: FirstEvent, events: Events, meta: Meta, deps: ServerDeps) {
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
  first: FirstEvent,
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
  return generationHandler(deps, completionRequestSchema, (wire) => {
    const includeUsage = wire.stream_options?.include_usage === true;
    return {
      idPrefix: "cmpl",
      model: wire.model,
      stream: wire.stream === true,
      start: (signal) => deps.inference.complete(toCompletionRequest(wire, signal)),
      collect: (first, events, meta) => collect(first, events, meta, deps),
      chunks: (first, events, meta) => chunks(first, events, meta, includeUsage, deps),
    };
  });
}
