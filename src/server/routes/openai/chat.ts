import type { Context } from "hono";
import type { ChatCompletion, ChatCompletionChunk, ToolCallWire } from "../../../api/openai/chat.js";
import { chatCompletionRequestSchema } from "../../../api/openai/chat.js";
import type { FinishReason } from "../../../api/openai/common.js";
import type { InferenceEvent, ToolCall } from "../../../engine/inference/types.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { toChatRequest } from "./mapping.js";
import { completionId, finishReason, noDone, nowSeconds, SYSTEM_FINGERPRINT, usageOf } from "./response.js";
import { linkAbort, sseResponse } from "./stream.js";
import { parseBody } from "./validate.js";

type Events = AsyncGenerator<InferenceEvent, void, undefined>;

/** Our parsed arguments object → OpenAI's JSON string of it. */
function toWireCall(call: ToolCall): ToolCallWire {
  return {
    id: call.id,
    type: "function",
    function: { name: call.name, arguments: JSON.stringify(call.arguments) },
  };
}

interface Meta {
  id: string;
  created: number;
  /** The model name as the client sent it (OpenAI echoes the requested model). */
  model: string;
}

async function collect(
  first: IteratorResult<InferenceEvent, void>,
  events: Events,
  meta: Meta,
  deps: ServerDeps,
) {
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
  first: IteratorResult<InferenceEvent, void>,
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
  return async (c: Context): Promise<Response> => {
    const wire = parseBody(chatCompletionRequestSchema, await readJsonBody(c));
    const abort = linkAbort(c.req.raw.signal);
    try {
      const events = deps.inference.chat(toChatRequest(wire, abort.signal));
      // Pull the first event before any header goes out: an unknown model, a full queue or a
      // failed load is then a real HTTP error, not a 200 stream that fails.
      const first = await events.next();
      const meta: Meta = {
        id: completionId("chatcmpl"),
        created: nowSeconds(),
        model: wire.model,
      };
      if (wire.stream === true) {
        const includeUsage = wire.stream_options?.include_usage === true;
        return sseResponse(chunks(first, events, meta, includeUsage, deps), abort, deps.logger);
      }
      // Returning on the done event leaves the generator parked after it: close it so the
      // service's cleanup runs now, not whenever it is collected.
      const completion = await collect(first, events, meta, deps).finally(() => events.return(undefined));
      abort.dispose();
      return c.json(completion);
    } catch (error: unknown) {
      abort.dispose();
      throw error;
    }
  };
}
