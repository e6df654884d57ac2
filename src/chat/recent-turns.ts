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

/** Forgets tracked at most before they are summed up in one floor (see `forgottenAt`). */
const MAX_FORGETS = 4096;

export class RecentTurns {
  /** By conversation id, in order of use (a Map keeps insertion order: first = least recent). */
  private readonly turns = new Map<string, RecentTurn>();
  /**
   * When each conversation was last forgotten, on a counter: a turn that began before then
   * carries settings from before the change and is not kept. Past MAX_FORGETS entries they are
   * dropped and `floor` stands for all of them (turns begun before it are not kept).
   */
  private readonly forgottenAt = new Map<string, number>();
  private clock = 0;
  private floor = 0;

  /** A mark to hand back to remember(): taken when a turn starts, before its conversation is read. */
  begin(): number {
    return this.clock;
  }

  /** Keeps `turn`, unless its conversation was forgotten after `since` (begin()'s mark). */
  remember(turn: RecentTurn, since: number): void {
    const id = turn.conversation.id;
    if (since < this.floor || (this.forgottenAt.get(id) ?? 0) > since) return;
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

  /** Drops the conversation's turn, and any turn of it that began before now and ends later. */
  forget(conversationId: string): void {
    this.turns.delete(conversationId);
    this.clock++;
    if (this.forgottenAt.size >= MAX_FORGETS) {
      this.forgottenAt.clear();
      this.floor = this.clock;
    }
    this.forgottenAt.set(conversationId, this.clock);
  }
}
