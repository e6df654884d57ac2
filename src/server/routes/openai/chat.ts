import type { ChatCompletion, ChatCompletionChunk, ToolCallWire } from "../../../api/openai/chat.js";
import { chatCompletionRequestSchema } from "../../../api/openai/chat.js";
import type { FinishReason } from "../../../api/openai/common.js";
import type { ToolCall } from "../../../engine/inference/types.js";
import type { ServerDeps } from "../../context.js";
import type { Events, FirstEvent, Meta } from "./handler.js";
import { generationHandler } from "./handler.js";
import { toChatRequest } from "./mapping.js";
import { finishReason, noDone, SYSTEM_FINGERPRINT, usageOf } from "./response.js";

/** Our parsed arguments object → OpenAI's JSON string of it. */
function toWireCall(call: ToolCall): ToolCallWire {
  return {
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  };
}

async function collect(first: FirstEvent, events: Events, meta: Meta, deps: ServerDeps) {
  let content = "";
  const calls: ToolCall[] = [];
  for (let step = first; !step.done; step = await events.next()) {
    const event = step.value;
    switch (event.type) {
      case "text":
        content += event.text;
        break;
      case "tool_calls":
        calls.push(...event.calls);
        break;
      case "done": {
        deps.metrics.observeGeneration(event.model.name, event.stats);
        const completion: ChatCompletion = {
          id: meta.id,
          object: "chat.completion",
          created: meta.created,
          model: meta.model,
          system_fingerprint: SYSTEM_FINGERPRINT,
          choices: [
            {
              index: 0,
              message: {
                role: "assistant",
                // OpenAI sends null content when the answer is only tool calls.
                content: content === "" && calls.length > 0 ? null : content,
                ...(calls.length > 0 ? { tool_calls: calls.map(toWireCall) } : {}),
              },
              logprobs: null,
              finish_reason: finishReason(event.stats.doneReason, calls.length > 0),
            },
          ],
          usage: usageOf(event.stats),
        };
        return completion;
      }
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
): AsyncGenerator<ChatCompletionChunk, void> {
  const chunk = (
    delta: ChatCompletionChunk["choices"][number]["delta"],
    finish: FinishReason | null,
  ): ChatCompletionChunk => ({
    id: meta.id,
    object: "chat.completion.chunk",
    created: meta.created,
    model: meta.model,
    system_fingerprint: SYSTEM_FINGERPRINT,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
    ...(includeUsage ? { usage: null } : {}),
  });
  // Only the first delta carries the role, as OpenAI does.
  let role: { role?: "assistant" } = { role: "assistant" };
  let toolCalls = 0;
  let done = false;
  try {
    for (let step = first; !step.done; step = await events.next()) {
      const event = step.value;
      switch (event.type) {
        case "text":
          if (event.text === "") break;
          yield chunk({ ...role, content: event.text }, null);
          role = {};
          break;
        case "tool_calls":
          yield chunk(
            {
              ...role,
              tool_calls: event.calls.map((call, i) => ({ index: toolCalls + i, ...toWireCall(call) })),
            },
            null,
          );
          toolCalls += event.calls.length;
          role = {};
          break;
        case "done":
          done = true;
          deps.metrics.observeGeneration(event.model.name, event.stats);
          if (role.role !== undefined) yield chunk({ ...role, content: "" }, null);
          yield chunk({}, finishReason(event.stats.doneReason, toolCalls > 0));
          if (includeUsage) yield { ...chunk({}, null), choices: [], usage: usageOf(event.stats) };
          break;
      }
    }
  } finally {
    // Early exit (client gone): let the service release its engine slot.
    await events.return(undefined);
  }
  if (!done) throw noDone();
}

/** POST /v1/chat/completions */
export function chatCompletions(deps: ServerDeps) {
  return generationHandler(deps, chatCompletionRequestSchema, (wire) => {
    const includeUsage = wire.stream_options?.include_usage === true;
    return {
      idPrefix: "chatcmpl",
      model: wire.model,
      stream: wire.stream === true,
      start: (signal) => deps.inference.chat(toChatRequest(wire, signal)),
      collect: (first, events, meta) => collect(first, events, meta, deps),
      chunks: (first, events, meta) => chunks(first, events, meta, includeUsage, deps),
    };
  });
}
