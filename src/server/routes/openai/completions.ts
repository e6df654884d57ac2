import type { Completion } from "../../../api/openai/completions.js";
import { completionRequestSchema } from "../../../api/openai/completions.js";
import type { FinishReason } from "../../../api/openai/common.js";
import type { ServerDeps } from "../../context.js";
import type { InferenceEvent } from "../../../engine/inference/types.js";
import type { Meta } from "./handler.js";
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

/** The events (with the handler's done/metrics/close handling) → one text_completion. */
async function collect(events: AsyncIterable<InferenceEvent>, meta: Meta): Promise<Completion> {
  let text = "";
  for await (const event of events) {
    switch (event.type) {
      case "text":
        text += event.text;
        break;
      case "tool_calls":
        // complete() is given no tools, so the service never reports calls here.
        break;
      case "thinking":
        // A text_completion has no reasoning field (only a suffix request runs a template that thinks).
        break;
      case "done":
        return {
          ...completion(meta, text, finishReason(event.stats.doneReason, false)),
          usage: usageOf(event.stats),
        };
    }
  }
  throw noDone();
}

async function* chunks(
  events: AsyncIterable<InferenceEvent>,
  meta: Meta,
  includeUsage: boolean,
): AsyncGenerator<Completion, void> {
  const usage = includeUsage ? { usage: null } : {};
  for await (const event of events) {
    switch (event.type) {
      case "text":
        if (event.text !== "") yield { ...completion(meta, event.text, null), ...usage };
        break;
      case "tool_calls":
      case "thinking":
        break;
      case "done":
        yield { ...completion(meta, "", finishReason(event.stats.doneReason, false)), ...usage };
        if (includeUsage) yield { ...completion(meta, "", null), choices: [], usage: usageOf(event.stats) };
        break;
    }
  }
}

/** POST /v1/completions: raw text continuation (no chat template). */
export function completions(deps: ServerDeps) {
  return generationHandler(deps, completionRequestSchema, (wire) => ({
    idPrefix: "cmpl",
    start: (signal) => deps.inference.complete(toCompletionRequest(wire, signal)),
    collect,
    chunks,
  }));
}
