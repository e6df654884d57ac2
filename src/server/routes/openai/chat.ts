import type { ChatCompletion, ChatCompletionChunk, ToolCallWire } from "../../../api/openai/chat.js";
import { chatCompletionRequestSchema } from "../../../api/openai/chat.js";
import type { FinishReason } from "../../../api/openai/common.js";
import type { InferenceEvent, ToolCall } from "../../../engine/inference/types.js";
import type { ServerDeps } from "../../context.js";
import type { Meta } from "./handler.js";
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

/**
 * Reasoning goes out twice: `reasoning_content` is what llama-server and vLLM send (and what most
 * OpenAI-compatible clients read), `reasoning` what Ollama's own /v1 sends.
 */
function reasoningFields(text: string): { reasoning_content?: string; reasoning?: string } {
  return text === "" ? {} : { reasoning_content: text, reasoning: text };
}

/** The events (with the handler's done/metrics/close handling) → one chat.completion. */
async function collect(events: AsyncIterable<InferenceEvent>, meta: Meta): Promise<ChatCompletion> {
  let content = "";
  let reasoning = "";
  const calls: ToolCall[] = [];
  for await (const event of events) {
    switch (event.type) {
      case "text":
        content += event.text;
        break;
      case "thinking":
        reasoning += event.text;
        break;
      case "tool_calls":
        calls.push(...event.calls);
        break;
      case "done":
        return {
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
                ...reasoningFields(reasoning),
                ...(calls.length > 0 ? { tool_calls: calls.map(toWireCall) } : {}),
              },
              logprobs: null,
              finish_reason: finishReason(event.stats.doneReason, calls.length > 0),
            },
          ],
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
  for await (const event of events) {
    switch (event.type) {
      case "text":
        if (event.text === "") break;
        yield chunk({ ...role, content: event.text }, null);
        role = {};
        break;
      case "thinking":
        if (event.text === "") break;
        yield chunk({ ...role, ...reasoningFields(event.text) }, null);
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
        if (role.role !== undefined) yield chunk({ ...role, content: "" }, null);
        yield chunk({}, finishReason(event.stats.doneReason, toolCalls > 0));
        if (includeUsage) yield { ...chunk({}, null), choices: [], usage: usageOf(event.stats) };
        break;
    }
  }
}

/** POST /v1/chat/completions */
export function chatCompletions(deps: ServerDeps) {
  return generationHandler(deps, chatCompletionRequestSchema, (wire) => ({
    idPrefix: "chatcmpl",
    start: (signal) => deps.inference.chat(toChatRequest(wire, signal)),
    collect,
    chunks,
  }));
}
