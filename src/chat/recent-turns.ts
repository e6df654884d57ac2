/**
 * What the chat service remembers of each conversation's latest finished answer: the
 * conversation as that turn left it, and the branch from the root down to the answer. A
 * follow-up to that answer (the next message of a chat, the common case) builds its prompt from
 * this instead of reading the conversation and the branch from the database first, which took
 * 3-4 ms before the prompt reached the runner (bench/web-ttft.ts). Messages do not change once
 * finished, so the branch stays true; the conversation's system prompt and options can change
 * (here or on another server sharing the database), so src/chat/service.ts checks them against
 * the row its insert locks and starts the prompt again when they differ.
 */
import type { Conversation } from "../store/chat-fields.js";
import type { BranchMessage } from "../store/messages.js";

export interface RecentTurn {
  /** The answer the branch ends with. */
  answerId: string;
  conversation: Conversation;
  path: readonly BranchMessage[];
}

/**
 * Conversations remembered at most: each holds its branch's text, so this bounds the memory to
 * that many chats (the ones used last).
 */
const MAX_CONVERSATIONS = 64;

export class RecentTurns {
  /** By conversation id, in order of use (a Map keeps insertion order: first = least recent). */
  private readonly turns = new Map<string, RecentTurn>();

  remember(turn: RecentTurn): void {
    const id = turn.conversation.id;
    this.turns.delete(id);
    this.turns.set(id, turn);
    if (this.turns.size > MAX_CONVERSATIONS) {
      const oldest = this.turns.keys().next().value;
      if (oldest !== undefined) this.turns.delete(oldest);
    }
  }

  /** The remembered turn of `conversationId` when it is `userId`'s and ends at `answerId`. */
  recall(userId: string, conversationId: string, answerId: string): RecentTurn | undefined {
    const turn = this.turns.get(conversationId);
    if (!turn || turn.answerId !== answerId || turn.conversation.userId !== userId) return undefined;
    return turn;
  }

  forget(conversationId: string): void {
    this.turns.delete(conversationId);
  }
}
