/**
 * The web chat's generations (docs/web-app.md): a message sent to a conversation is stored
 * first, then answered by a generation the server owns (generation.ts) — a client that goes away
 * detaches, it does not stop the answer, which completes and is saved. Streams attach to a
 * running answer by its id; stop() and close() abort answers and save them `stopped`.
 */
import { AppError, toAppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { mapOllamaOptions } from "../engine/inference/options.js";
import { newToolCallId } from "../engine/inference/tool-calls.js";
import type { ChatMessage, Inference, InferenceEvent } from "../engine/inference/types.js";
import type { Engine, GenerateStats } from "../engine/types.js";
import type { ModelStore } from "../models/types.js";
import { getConversation, type Conversation } from "../store/conversations.js";
import { insertSiblingAnswer, insertTurn, stopOrphanAnswer, type Turn } from "../store/answers.js";
import { checkText } from "../store/chat-fields.js";
import { branchPath, getMessage, type BranchMessage, type Message } from "../store/messages.js";
import type { Database } from "../store/types.js";
import { Generation, settledStream, type ChatStream } from "./generation.js";
import type { ChatModels } from "./models.js";

export type { ChatEvent, ChatStream } from "./generation.js";

export interface ChatServiceOptions {
  db: Database;
  inference: Inference;
  /** Where models are resolved before anything is stored (an unknown model stores nothing). */
  models: Pick<ModelStore, "get">;
  /** Which models think: those are asked to (`think: true`), the others never (that is a 400). */
  thinking: Pick<ChatModels, "thinks">;
  /** Refuses a request the queue has no room for before anything is stored. */
  engine: Pick<Engine, "admit">;
  logger: Logger;
  /** Called with the final statistics of each completed answer (the server's metrics). */
  onStats?: (model: string, stats: GenerateStats) => void;
  /** How often a growing answer's text is saved, ms. Default 1000. */
  saveIntervalMs?: number;
}

interface SendInput {
  content: string;
  /** The message the new user message follows; null for a first message (or an edited first one). */
  parentId: string | null;
  /** The model to answer with; default the conversation's. */
  model?: string;
}

export interface ChatService {
  /** Stores a user message and its (empty) answer, starts the answer and attaches a stream to it. */
  send(userId: string, conversationId: string, input: SendInput): Promise<ChatStream>;
  /** A new answer beside assistant message `messageId`, started and attached to. */
  regenerate(userId: string, messageId: string): Promise<ChatStream>;
  /** Attaches to an answer: live when it is being generated here, else `start` and `done` at once. */
  attach(userId: string, messageId: string): Promise<ChatStream>;
  /** Stops an answer and returns it saved (`stopped`, with the text so far). */
  stop(userId: string, messageId: string): Promise<Message>;
  /** Aborts, without saving, the answers of a conversation that was deleted. */
  abandonConversation(conversationId: string): void;
  /** Stops every running answer (saved `stopped`) and refuses new ones. Idempotent. */
  close(): Promise<void>;
}

/** The inference history of a branch: the chat's system prompt, then the path's messages. */
function historyOf(conversation: Conversation, path: readonly BranchMessage[]): ChatMessage[] {
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

/**
 * Longest wait, ms, for the engine to hand a new answer's prompt to a runner before its turn is
 * stored anyway (a queue or a model load can take seconds; the question must be saved at once).
 */
const STORE_WAIT_MS = 20;

/** How an answer is asked for: the conversation's options, and whether its model is asked to think. */
type Plan = ReturnType<typeof mapOllamaOptions> & { think: boolean };

export function createChatService(options: ChatServiceOptions): ChatService {
  const { db, inference, logger } = options;
  const saveIntervalMs = options.saveIntervalMs ?? 1000;
  const live = new Map<string, Generation>();
  let closing = false;

  const checkOpen = () => {
    if (closing) throw new AppError("shutting_down", "server is shutting down", { retryAfter: 1 });
  };

  /** Fails like inference would, before anything is stored: unknown model, full queue, bad options. */
  const preflight = async (conversation: Conversation, model: string): Promise<Plan> => {
    const record = await options.models.get(model);
    options.engine.admit(record.name);
    return { ...mapOllamaOptions(conversation.options), think: await options.thinking.thinks(record) };
  };

  /**
   * Stores a turn and starts its answer. The model starts reading `history` (the branch the
   * answer continues, read before the rows are written: a new child changes none of its
   * ancestors) first, and the rows are written once the runner has the prompt: PGlite runs on
   * this thread, so writing them first would delay the prompt by the writes, and writing them
   * while the runner evaluates it costs the first token nothing. Output waits for the rows: no
   * client sees (and nothing saves) a token before they are committed. When the engine is waiting
   * for a slot or a model load, the rows are written after STORE_WAIT_MS anyway. If storing
   * fails, the inference is aborted and the error thrown: nothing was stored. Then the first
   * inference event is awaited, so a failure before any output is thrown to the caller (a real
   * HTTP error; the answer row is saved as `error`), and the rest runs in the background.
   */
  const start = async (
    userId: string,
    model: string,
    history: ChatMessage[],
    plan: Plan,
    store: () => Promise<Turn>,
  ): Promise<ChatStream> => {
    const inferenceAbort = new AbortController();
    let sent = (): void => undefined;
    const handedOver = new Promise<void>((resolve) => (sent = resolve));
    let events: AsyncIterator<InferenceEvent, void> | undefined;
    const firstEvent = (async () => {
      events = inference.chat({
        onSent: sent,
        model,
        messages: history,
        sampling: plan.sampling,
        load: plan.load,
        // The chat shows the reasoning, so it asks for it instead of relying on the engine's default.
        ...(plan.think ? { think: true } : {}),
        signal: inferenceAbort.signal,
      });
      return events.next();
    })();
    // Awaited below once the rows exist; a failure meanwhile must not count as unhandled.
    const settled = firstEvent.then(
      () => undefined,
      () => undefined,
    );
    let timer: NodeJS.Timeout | undefined;
    let turn: Turn;
    try {
      await Promise.race([
        handedOver,
        settled,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, STORE_WAIT_MS))),
      ]);
      clearTimeout(timer);
      turn = await store();
    } catch (error) {
      inferenceAbort.abort();
      throw error;
    }
    const { answer } = turn;
    const generation = new Generation({
      db,
      logger,
      userId,
      answer,
      saveIntervalMs,
      ...(options.onStats ? { onStats: options.onStats } : {}),
    });
    generation.signal.addEventListener("abort", () => inferenceAbort.abort(), { once: true });
    live.set(answer.id, generation);
    void generation.finished.then(() => live.delete(answer.id));
    const stream = generation.attach(turn.userMessage, turn.conversation);
    let first: IteratorResult<InferenceEvent, void>;
    try {
      // From here on the answer row exists: any failure must end it (`error`), never leave it `streaming`.
      first = await firstEvent;
    } catch (error) {
      if (generation.signal.aborted) {
        // Stopped (or the server closing) before any output: the stream ends with that.
        await generation.finish("stopped", null);
        return stream;
      }
      stream.cancel();
      const appError = toAppError(error);
      await generation.finish("error", { code: appError.code, message: appError.message });
      throw error;
    }
    if (first.done || events === undefined) {
      void generation.finish(generation.signal.aborted ? "stopped" : "done", null);
    } else {
      generation.apply(first.value);
      void generation.run(events);
    }
    return stream;
  };

  return {
    async send(userId, conversationId, input) {
      checkOpen();
      const conversation = await getConversation(db, userId, conversationId);
      const model = input.model ?? conversation.model;
      if (model === null || model === "") {
        throw new AppError("invalid_request", "model is required: the conversation has none", {
          param: "model",
        });
      }
      // Checked here too (insertTurn does): a model must not start on a question that cannot be stored.
      checkText(input.content, "content");
      const plan = await preflight(conversation, model);
      const path =
        input.parentId === null ? [] : await branchPath(db, userId, conversationId, input.parentId);
      const history = [...historyOf(conversation, path), { role: "user" as const, content: input.content }];
      return start(userId, model, history, plan, () =>
        insertTurn(db, userId, conversationId, { content: input.content, parentId: input.parentId, model }),
      );
    },

    async regenerate(userId, messageId) {
      checkOpen();
      const sibling = await getMessage(db, userId, messageId);
      if (sibling.role !== "assistant" || sibling.parentId === null) {
        throw new AppError("invalid_request", "only an answer can be regenerated");
      }
      const conversation = await getConversation(db, userId, sibling.conversationId);
      const model = conversation.model ?? sibling.model;
      if (model === null) throw new AppError("invalid_request", "model is required", { param: "model" });
      const plan = await preflight(conversation, model);
      const path = await branchPath(db, userId, sibling.conversationId, sibling.parentId);
      return start(userId, model, historyOf(conversation, path), plan, () =>
        insertSiblingAnswer(db, userId, messageId, model),
      );
    },

    async attach(userId, messageId) {
      const generation = live.get(messageId);
      if (generation && generation.userId === userId) return generation.attach();
      // Not running here: the stored row is all there is (done, stopped, failed, or left
      // streaming by a server that went away).
      return settledStream(await getMessage(db, userId, messageId));
    },

    async stop(userId, messageId) {
      const generation = live.get(messageId);
      if (generation && generation.userId === userId) {
        generation.abort("stopped");
        return generation.finished;
      }
      return stopOrphanAnswer(db, userId, messageId);
    },

    abandonConversation(conversationId) {
      for (const generation of live.values()) {
        if (generation.conversationId === conversationId) generation.abort("gone");
      }
    },

    async close() {
      closing = true;
      const running = [...live.values()];
      for (const generation of running) generation.abort("stopped");
      await Promise.all(running.map((generation) => generation.finished));
    },
  };
}
