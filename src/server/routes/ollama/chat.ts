import type { Handler } from "hono";
import type { z } from "zod";
import { chatRequestSchema, type chatMessageSchema } from "../../../api/ollama/requests.js";
import type { ChatChunkWire, ToolCallOutWire } from "../../../api/ollama/responses.js";
import { mapOllamaOptions } from "../../../engine/inference/options.js";
import { newToolCallId } from "../../../engine/inference/tool-calls.js";
import type { ChatMessage, ChatRequest, InferenceEvent, ToolCall } from "../../../engine/inference/types.js";
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

type MessageWire = z.infer<typeof chatMessageSchema>;

function toChatMessage(message: MessageWire): ChatMessage {
  const out: ChatMessage = { role: message.role, content: message.content };
  if (message.images?.length) out.images = message.images;
  if (message.tool_calls?.length) {
    out.toolCalls = message.tool_calls.map((call) => ({
      id: call.id ?? newToolCallId(),
      name: call.function.name,
      arguments: call.function.arguments,
    }));
  }
  if (message.tool_name !== undefined) out.toolName = message.tool_name;
  if (message.tool_call_id !== undefined) out.toolCallId = message.tool_call_id;
  if (message.thinking) out.thinking = message.thinking;
  return out;
}

/** Ollama's tool call: `arguments` is an object (OpenAI sends a JSON string). */
function toWireCalls(calls: readonly ToolCall[], first = 0): ToolCallOutWire[] {
  return calls.map((call, i) => ({
    id: call.id,
    function: { index: first + i, name: call.name, arguments: call.arguments },
  }));
}

function chunk(
  model: string,
  content: string,
  toolCalls?: ToolCallOutWire[],
  thinking?: string,
): ChatChunkWire {
  const message: ChatChunkWire["message"] = { role: "assistant", content };
  if (thinking) message.thinking = thinking;
  if (toolCalls?.length) message.tool_calls = toolCalls;
  return { model, created_at: nowRfc3339Nano(), message, done: false };
}

function finalChunk(
  model: string,
  content: string,
  stats: GenerateStats,
  toolCalls?: ToolCallOutWire[],
  thinking?: string,
): ChatChunkWire {
  return {
    ...chunk(model, content, toolCalls, thinking),
    done: true,
    done_reason: stats.doneReason,
    ...finalStats(stats),
  };
}

/**
 * POST /api/chat. Empty `messages` loads the model (or unloads it with `keep_alive: 0`). Tool
 * calls the model makes come back as `message.tool_calls` — streamed as their own chunk when
 * found, gathered into the single message when not streaming.
 */
export function chatRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(chatRequestSchema, await readJsonBody(c));
    const keepAlive = keepAliveMs(wire.keep_alive);
    const { sampling, load } = mapOllamaOptions(wire.options);

    if (!wire.messages?.length) {
      const reason = await loadOrUnload(deps.inference, wire.model, load, keepAlive);
      const body: ChatChunkWire = {
        model: wire.model,
        created_at: nowRfc3339Nano(),
        message: { role: "assistant", content: "" },
        done: true,
        done_reason: reason,
      };
      return c.json(body);
    }

    // Fires when the client's socket closes (@hono/node-server aborts Request.signal then).
    const abort = linkAbort(c.req.raw.signal, c.get("cut"));
    const request: ChatRequest = {
      model: wire.model,
      messages: wire.messages.map(toChatMessage),
      tools: wire.tools?.map((tool) => ({
        name: tool.function.name,
        description: tool.function.description,
        parameters: tool.function.parameters,
      })),
      sampling,
      load,
      format: outputFormat(wire.format),
      keepAliveMs: keepAlive,
      signal: abort.signal,
      think: wire.think,
      truncate: wire.truncate,
    };
    const events = await primeIterator<InferenceEvent>(deps.inference.chat(request));

    if (wire.stream === false) {
      let text = "";
      let thinking = "";
      const calls: ToolCall[] = [];
      for await (const event of events) {
        if (event.type === "text") text += event.text;
        else if (event.type === "thinking") thinking += event.text;
        else if (event.type === "tool_calls") calls.push(...event.calls);
        else {
          return c.json(finalChunk(wire.model, text, event.stats, toWireCalls(calls), thinking));
        }
      }
      throw new AppError("internal", "generation ended without a result");
    }

    let callsSent = 0;
    return ndjsonResponse<InferenceEvent>(c, events, {
      logger: deps.logger,
      onCancel: () => abort.abort(),
      onEnd: abort.dispose,
      render: (event): ChatChunkWire => {
        switch (event.type) {
          case "text":
            return chunk(wire.model, event.text);
          case "thinking":
            return chunk(wire.model, "", undefined, event.text);
          case "tool_calls": {
            const out = chunk(wire.model, "", toWireCalls(event.calls, callsSent));
            callsSent += event.calls.length;
            return out;
          }
          case "done":
            return finalChunk(wire.model, "", event.stats);
        }
      },
    });
  };
}
