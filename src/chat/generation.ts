/**
 * One answer being generated: the server, not the HTTP request, owns it. It pulls inference
 * events, keeps the text so far, fans each event out to whoever is attached (any number of
 * streams, none at all after a disconnect), saves the partial text on a timer, and saves the
 * final row when inference ends, is stopped, or fails.
 */
import { toAppError } from "../errors.js";
import { AsyncQueue } from "../lib/async-queue.js";
import type { Logger } from "../logger.js";
import type { InferenceEvent } from "../engine/inference/types.js";
import type { GenerateStats } from "../engine/types.js";
import { saveAnswer } from "../store/answers.js";
import {
  type Message,
  type MessageError,
  type MessageStats,
  type MessageStatus,
  type MessageToolCall,
} from "../store/messages.js";
import type { Conversation } from "../store/conversations.js";
import type { Database } from "../store/types.js";

/** What an attached stream receives (docs/web-app.md, "Streams"). */
export type ChatEvent =
  /** `conversation`: the chat as the turn left it (its first message names it), on a new answer. */
  | { type: "start"; userMessage?: Message; message: Message; conversation?: Conversation }
  | { type: "delta"; content: string }
  /** Reasoning of a thinking model as it is generated, apart from the answer's `delta`s. */
  | { type: "thinking"; content: string }
  | { type: "tool_calls"; toolCalls: MessageToolCall[] }
  | { type: "done"; message: Message };

/** An attached stream: its events, and `cancel()` to detach (the generation goes on). */
export interface ChatStream extends AsyncIterableIterator<ChatEvent> {
  cancel(): void;
}

function streamOf(queue: AsyncQueue<ChatEvent>, onCancel?: () => void): ChatStream {
  return Object.assign(queue, {
    cancel() {
      onCancel?.();
      queue.close();
    },
  });
}

/** The stream of an answer no generation runs for: `start`, then `done` with the row as stored. */
export function settledStream(message: Message): ChatStream {
  const queue = new AsyncQueue<ChatEvent>();
  queue.push({ type: "start", message: { ...message, content: "", thinking: null } });
  queue.push({ type: "done", message });
  queue.close();
  return streamOf(queue);
}

export interface GenerationOptions {
  db: Database;
  logger: Logger;
  userId: string;
  /** The answer's row as inserted (empty, `streaming`). */
  answer: Message;
  /** How often the partial text is saved while it grows, ms. */
  saveIntervalMs: number;
}

/** Why a generation was aborted: a stop (saved as `stopped`) or its row is gone (nothing to save). */
type AbortReason = "stopped" | "gone";

function toStats(stats: GenerateStats): MessageStats {
  const ms = (ns: number) => Math.round(ns / 1e3) / 1e3;
  return {
    promptTokens: stats.promptTokens,
    completionTokens: stats.evalTokens,
    ttftMs: ms(stats.firstTokenNs),
    tokensPerSecond: stats.evalNs > 0 ? Math.round((stats.evalTokens / (stats.evalNs / 1e9)) * 100) / 100 : 0,
    totalMs: ms(stats.totalNs),
  };
}

export class Generation {
  readonly userId: string;
  readonly id: string;
  readonly conversationId: string;
  private readonly options: GenerationOptions;
  private readonly controller = new AbortController();
  private readonly streams = new Set<AsyncQueue<ChatEvent>>();
  private content = "";
  private thinking = "";
  private toolCalls: MessageToolCall[] = [];
  private stats: MessageStats | null = null;
  private dirty = false;
  private saving: Promise<void> = Promise.resolve();
  private final: Message | undefined;
  private abortReason: AbortReason | undefined;
  /** Whether finish() saved the final row (not when its conversation is gone or the save failed). */
  saved = false;
  /** Resolves with the final row once the generation has ended and been saved. */
  readonly finished: Promise<Message>;
  private resolveFinished!: (message: Message) => void;

  constructor(options: GenerationOptions) {
    this.options = options;
    this.userId = options.userId;
    this.id = options.answer.id;
    this.conversationId = options.answer.conversationId;
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
  }

  /** The signal inference runs under: aborted by stop() and close(), never by a client. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The answer as it stands: the saved row once finished, else the text so far. */
  snapshot(): Message {
    return (
      this.final ?? {
        ...this.options.answer,
        content: this.content,
        thinking: this.thinking === "" ? null : this.thinking,
        toolCalls: this.toolCalls.length > 0 ? [...this.toolCalls] : null,
      }
    );
  }

  /**
   * Attaches a stream. Its first event is `start` (naming `userMessage` and `conversation` when
   * given: the turn's new rows, so the page needs no request to learn them); a stream
   * attached mid-answer then gets everything generated so far as one `thinking` (the reasoning)
   * and one `delta` (the answer), and live events after them; one attached after the end gets
   * `done` at once.
   */
  attach(userMessage?: Message, conversation?: Conversation): ChatStream {
    const queue = new AsyncQueue<ChatEvent>();
    const message = this.snapshot();
    queue.push({
      type: "start",
      ...(userMessage ? { userMessage } : {}),
      message: { ...message, content: "", thinking: null },
      ...(conversation ? { conversation } : {}),
    });
    if (this.final) {
      queue.push({ type: "done", message: this.final });
      queue.close();
    } else {
      if (this.thinking !== "") queue.push({ type: "thinking", content: this.thinking });
      if (this.content !== "") queue.push({ type: "delta", content: this.content });
      if (this.toolCalls.length > 0) queue.push({ type: "tool_calls", toolCalls: [...this.toolCalls] });
      this.streams.add(queue);
    }
    return streamOf(queue, () => this.streams.delete(queue));
  }

  /** Aborts the generation; `stopped` saves the partial answer, `gone` saves nothing. */
  abort(reason: AbortReason): void {
    this.abortReason ??= reason;
    this.controller.abort();
  }

  private broadcast(event: ChatEvent): void {
    for (const stream of this.streams) stream.push(event);
  }

  /** Applies one inference event to the answer and passes it on. */
  apply(event: InferenceEvent): void {
    switch (event.type) {
      case "text":
        if (event.text === "") return;
        this.content += event.text;
        this.dirty = true;
        this.broadcast({ type: "delta", content: event.text });
        return;
      case "tool_calls": {
        const calls = event.calls.map((call) => ({ name: call.name, arguments: call.arguments }));
        this.toolCalls.push(...calls);
        this.dirty = true;
        this.broadcast({ type: "tool_calls", toolCalls: calls });
        return;
      }
      case "thinking":
        if (event.text === "") return;
        this.thinking += event.text;
        this.dirty = true;
        this.broadcast({ type: "thinking", content: event.text });
        return;
      case "done":
        this.stats = toStats(event.stats);
        return;
    }
  }

  /** Saves the text so far (status still `streaming`) unless nothing changed or a save is under way. */
  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const { db, userId, logger } = this.options;
    this.saving = this.saving
      .then(() =>
        saveAnswer(db, userId, this.id, {
          content: this.content,
          thinking: this.thinking,
          status: "streaming",
          toolCalls: this.toolCalls,
        }),
      )
      .then(
        (row) => {
          if (!row) this.abort("gone");
        },
        (error: unknown) => {
          this.dirty = true;
          logger.warn({ err: error, message: this.id }, "saving a partial answer failed; retrying");
        },
      );
  }

  /**
   * Pulls the rest of `events` (the first was already applied), then saves the final row and ends
   * every attached stream with `done`. Never throws: a failure becomes status `error`.
   */
  async run(events: AsyncIterator<InferenceEvent>): Promise<void> {
    const timer = setInterval(() => this.flush(), this.options.saveIntervalMs);
    let status: MessageStatus = "done";
    let error: MessageError | null = null;
    try {
      for (let next = await events.next(); !next.done; next = await events.next()) this.apply(next.value);
      if (this.signal.aborted) status = "stopped";
    } catch (thrown) {
      if (this.signal.aborted) {
        status = "stopped";
      } else {
        const appError = toAppError(thrown);
        this.options.logger[appError.status >= 500 ? "error" : "info"](
          { err: appError.cause ?? appError, code: appError.code },
          "chat answer ended with an error",
        );
        status = "error";
        error = { code: appError.code, message: appError.message };
      }
    } finally {
      clearInterval(timer);
    }
    await this.finish(status, error);
  }

  /** Saves the final state and ends the attached streams. */
  async finish(status: MessageStatus, error: MessageError | null): Promise<Message> {
    await this.saving;
    const final: Message = { ...this.snapshot(), status, error, stats: this.stats };
    if (this.abortReason !== "gone") {
      try {
        const saved = await saveAnswer(this.options.db, this.userId, this.id, {
          content: this.content,
          thinking: this.thinking,
          status,
          error,
          toolCalls: this.toolCalls,
          stats: this.stats,
        });
        if (saved) {
          Object.assign(final, saved);
          this.saved = true;
        }
      } catch (thrown) {
        this.options.logger.error({ err: thrown, message: this.id }, "saving a chat answer failed");
      }
    }
    this.final = final;
    this.broadcast({ type: "done", message: final });
    for (const stream of this.streams) stream.close();
    this.streams.clear();
    this.resolveFinished(final);
    return final;
  }
}
