/** Store records onto the web app's wire (src/api/chat.ts), in the wire's snake_case. */
import type { ChatModelWire, ChatStreamEventWire, ConversationWire, MessageWire } from "../../../api/chat.js";
import type { ChatEvent } from "../../../chat/service.js";
import type { ModelRecord } from "../../../models/types.js";
import type { Conversation } from "../../../store/conversations.js";
import type { Message } from "../../../store/messages.js";

export function toConversationWire(conversation: Conversation): ConversationWire {
  return {
    id: conversation.id,
    title: conversation.title,
    model: conversation.model,
    pinned: conversation.pinned,
    system: conversation.system,
    options: conversation.options,
    created_at: conversation.createdAt.toISOString(),
    updated_at: conversation.updatedAt.toISOString(),
  };
}

export function toMessageWire(message: Message): MessageWire {
  const { stats } = message;
  return {
    id: message.id,
    parent_id: message.parentId,
    role: message.role,
    content: message.content,
    thinking: message.thinking,
    model: message.model,
    status: message.status,
    error: message.error,
    tool_calls: message.toolCalls,
    stats: stats
      ? {
          prompt_tokens: stats.promptTokens,
          completion_tokens: stats.completionTokens,
          ttft_ms: stats.ttftMs,
          tokens_per_second: stats.tokensPerSecond,
          total_ms: stats.totalMs,
        }
      : null,
    created_at: message.createdAt.toISOString(),
  };
}

export function toChatModelWire(record: ModelRecord): ChatModelWire {
  return {
    name: record.name,
    parameter_size: record.details.parameter_size,
    quantization: record.details.quantization_level,
    family: record.details.family,
    modified_at: record.modifiedAt.toISOString(),
  };
}

export function toStreamEventWire(event: ChatEvent): ChatStreamEventWire {
  switch (event.type) {
    case "start":
      return {
        type: "start",
        ...(event.userMessage ? { user_message: toMessageWire(event.userMessage) } : {}),
        message: toMessageWire(event.message),
        ...(event.conversation ? { conversation: toConversationWire(event.conversation) } : {}),
      };
    case "delta":
    case "thinking":
      return event;
    case "tool_calls":
      return { type: "tool_calls", tool_calls: event.toolCalls };
    case "done":
      return { type: "done", message: toMessageWire(event.message) };
  }
}
