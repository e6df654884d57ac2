/**
 * The inference history the web chat sends for an answer (src/chat/service.ts): the chat's
 * system prompt, then the branch's messages, then the new question.
 */
import { newToolCallId } from "../engine/inference/tool-calls.js";
import type { ChatMessage } from "../engine/inference/types.js";
import type { Conversation } from "../store/chat-fields.js";
import type { BranchMessage } from "../store/messages.js";

/** The inference history of a branch: the chat's system prompt, then the path's messages. */
export function historyOf(conversation: Conversation, path: readonly BranchMessage[]): ChatMessage[] {
  const history: ChatMessage[] = [];
  if (conversation.system !== null && conversation.system.trim() !== "") {
    history.push({ role: "system", content: conversation.system });
  }
  for (const message of path) {
    // A failed answer with no text says nothing the model should continue from.
    if (message.status === "error" && message.content === "") continue;
    const out: ChatMessage = { role: message.role, content: message.content };
    // The template decides whether past reasoning is shown again (most drop it), as for Ollama's clients.
    if (message.thinking) out.thinking = message.thinking;
    if (message.toolCalls?.length) {
      out.toolCalls = message.toolCalls.map((call) => ({ id: newToolCallId(), ...call }));
    }
    history.push(out);
  }
  return history;
}

/** The inference history of a new user message `content` after `path`. */
export function questionAfter(
  conversation: Conversation,
  path: readonly BranchMessage[],
  content: string,
): ChatMessage[] {
  return [...historyOf(conversation, path), { role: "user", content }];
}

/** Whether two states of a conversation ask for an answer the same way (prompt and options). */
export function sameSettings(a: Conversation, b: Conversation): boolean {
  return a.system === b.system && JSON.stringify(a.options) === JSON.stringify(b.options);
}
