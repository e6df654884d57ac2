/**
 * The web chat's generations (docs/web-app.md): a message sent to a conversation is stored
 * first, then answered by a generation the server owns (generation.ts) — a client that goes away
 * detaches, it does not stop the answer, which completes and is saved. Streams attach to a
 * running answer by its id; stop() and close() abort answers and save them `stopped`.
 */
import { AppError, toAppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { mapOllamaOptions } from "../engine/inference/options.js";
import type { ChatMessage, Inference, InferenceEvent } from "../engine/inference/types.js";
import type { Engine } from "../engine/types.js";
import type { ModelRecord, ModelStore } from "../models/types.js";
import { getConversation, type Conversation } from "../store/conversations.js";
import { insertSiblingAnswer, insertTurn, stopOrphanAnswer, type Turn } from "../store/answers.js";
import { checkText } from "../store/chat-fields.js";
import { branchPath, getMessage, type BranchMessage, type Message } from "../store/messages.js";
import type { Database } from "../store/types.js";
import { Generation, settledStream, type ChatStream } from "./generation.js";
import { historyOf, questionAfter, sameSettings } from "./history.js";
import { RecentTurns } from "./recent-turns.js";
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
  /**
   * Forgets what was remembered of a conversation whose settings changed: its next prompt is
   * built from the database (recent-turns.ts).
   */
  forget(conversationId: string): void;
  /** Stops every running answer (saved `stopped`) and refuses new ones. Idempotent. */
  close(): Promise<void>;
}

/** The value of a settled promise, or its reason thrown. */
function settledValue<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

/**
 * Longest wait, ms, for the engine to hand a new answer's prompt to a runner before its turn is
 * stored anyway (a queue or a model load can take seconds; the question must be saved at once).
 */
const STORE_WAIT_MS = 20;

/** How an answer is asked for: the conversation's options, and whether its model is asked to think. */
type Plan = ReturnType<typeof mapOllamaOptions> & { think: boolean };

/** A prompt being read (see launch() in createChatService). */
interface Launched {
  abort: AbortController;
  events: AsyncGenerator<InferenceEvent, void, undefined>;
  firstEvent: Promise<IteratorResult<InferenceEvent, void>>;
  /** Resolves when a runner has the prompt. */
  handedOver: Promise<void>;
  /** Resolves (never rejects) when the first event has settled. */
  settled: Promise<void>;
}

export function createChatService(options: ChatServiceOptions): ChatService {
  const { db, inference, logger } = options;
  const saveIntervalMs = options.saveIntervalMs ?? 1000;
  const live = new Map<string, Generation>();
  const recent = new RecentTurns();
  let closing = false;

  const checkOpen = () => {
    if (closing) throw new AppError("shutting_down", "server is shutting down", { retryAfter: 1 });
  };

  /** Fails like inference would, before anything is stored: unknown model, full queue, bad options. */
  const preflight = async (conversation: Conversation, model: string | ModelRecord): Promise<Plan> => {
    const record = typeof model === "string" ? await options.models.get(model) : model;
    options.engine.admit(record.name);
    return { ...mapOllamaOptions(conversation.options), think: await options.thinking.thinks(record) };
  };

  /**
   * Starts reading a prompt: the inference, its first event (a failure before any output arrives
   * there) and the moment the runner has the prompt.
   */
  const launch = (model: string, history: ChatMessage[], plan: Plan): Launched => {
    const abort = new AbortController();
    let sent = (): void => undefined;
    const handedOver = new Promise<void>((resolve) => (sent = resolve));
    const events = inference.chat({
      onSent: sent,
      model,
      messages: history,
      sampling: plan.sampling,
      load: plan.load,
      // The chat shows the reasoning, so it asks for it instead of relying on the engine's default.
      ...(plan.think ? { think: true } : {}),
      signal: abort.signal,
    });
    const firstEvent = events.next();
    // Awaited once the rows exist; a failure meanwhile (or of a prompt started over) is not unhandled.
    const settled = firstEvent.then(
      () => undefined,
      () => undefined,
    );
    return { abort, events, firstEvent, handedOver, settled };
  };

  /**
   * Stores a turn and starts its answer. The model starts reading `history` (the branch the
   * answer continues, read before the rows are written: a new child changes none of its
   * ancestors) first, and the rows are written once the runner has the prompt: PGlite runs on
   * this thread, so writing them first would delay the prompt by the writes, and writing them
   * while the runner evaluates it costs the first token nothing. Output waits for the rows: no
   * client sees (and nothing saves) a token before they are committed. When the engine is waiting
   * for a slot or a model load, the rows are written after STORE_WAIT_MS anyway. If storing
   * fails, the inference is aborted and the error thrown: nothing was stored. `recheck` looks at
   * the stored turn (the conversation as its insert locked it): when it returns a prompt, the
   * one being read was built from a stale conversation and is started over. Then the first
   * inference event is awaited, so a failure before any output is thrown to the caller (a real
   * HTTP error; the answer row is saved as `error`), and the rest runs in the background.
   */
  const start = async (
    userId: string,
    model: string,
    /** The branch the prompt was built from, and recent.begin()'s mark taken before it was read. */
    prompt: { history: ChatMessage[]; plan: Plan; path: readonly BranchMessage[]; since: number },
    store: () => Promise<Turn>,
    recheck?: (turn: Turn) => { history: ChatMessage[]; plan: Plan } | undefined,
  ): Promise<ChatStream> => {
    let run = launch(model, prompt.history, prompt.plan);
    let timer: NodeJS.Timeout | undefined;
    let turn: Turn;
    try {
      await Promise.race([
        run.handedOver,
        run.settled,
        new Promise<void>((resolve) => (timer = setTimeout(resolve, STORE_WAIT_MS))),
      ]);
      clearTimeout(timer);
      turn = await store();
    } catch (error) {
      run.abort.abort();
      throw error;
    }
    // A failure here comes after the rows exist: it ends the answer like an inference failure.
    let recheckFailure: Error | undefined;
    try {
      const redo = recheck?.(turn);
      if (redo) {
        run.abort.abort();
        run = launch(model, redo.history, redo.plan);
      }
    } catch (error) {
      run.abort.abort();
      recheckFailure = toAppError(error);
    }
    const { answer } = turn;
    const generation = new Generation({
      db,
      logger,
      userId,
      answer,
      saveIntervalMs,
    });
    const current = run;
    generation.signal.addEventListener("abort", () => current.abort.abort(), { once: true });
    live.set(answer.id, generation);
    void generation.finished.then((final) => {
      live.delete(answer.id);
      // Remembered as saved: what the next turn's prompt reads back is exactly what is stored.
      if (!generation.saved) return;
      const asked = turn.userMessage ? [turn.userMessage] : [];
      recent.remember(
        { answerId: final.id, conversation: turn.conversation, path: [...prompt.path, ...asked, final] },
        prompt.since,
      );
    });
    const stream = generation.attach(turn.userMessage, turn.conversation);
    let first: IteratorResult<InferenceEvent, void>;
    try {
      // From here on the answer row exists: any failure must end it (`error`), never leave it `streaming`.
      if (recheckFailure !== undefined) throw recheckFailure;
      first = await current.firstEvent;
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
    if (first.done) {
      void generation.finish(generation.signal.aborted ? "stopped" : "done", null);
    } else {
      generation.apply(first.value);
      void generation.run(current.events);
    }
    return stream;
  };

  /** The prompt of an answer to `content` after `path` in `conversation`. */
  const promptOf = async (
    conversation: Conversation,
    model: string | ModelRecord,
    path: readonly BranchMessage[],
    content: string,
    since: number,
  ) => ({
    history: questionAfter(conversation, path, content),
    plan: await preflight(conversation, model),
    path,
    since,
  });

  return {
    async send(userId, conversationId, input) {
      checkOpen();
      const since = recent.begin();
      const store = (model: string) => () =>
        insertTurn(db, userId, conversationId, { content: input.content, parentId: input.parentId, model });
      // A follow-up to the answer this server finished last in the chat: its prompt is built from
      // what was remembered of that turn, and checked once the insert has locked the conversation.
      const recalled =
        input.parentId === null || input.model === undefined
          ? undefined
          : recent.recall(userId, conversationId, input.parentId);
      if (recalled && input.model !== undefined) {
        checkText(input.content, "content");
        const model = input.model;
        const prompt = await promptOf(recalled.conversation, model, recalled.path, input.content, since);
        // The model and its admission were checked above: only the chat's settings can differ.
        return start(userId, model, prompt, store(model), ({ conversation }) =>
          sameSettings(conversation, recalled.conversation)
            ? undefined
            : {
                history: questionAfter(conversation, recalled.path, input.content),
                plan: { ...mapOllamaOptions(conversation.options), think: prompt.plan.think },
              },
        );
      }
      // The conversation, the branch and (named by the request, as the web app does) the model's
      // record are read at once: PGlite answers on this thread while the model store reads files
      // on libuv's. Failures are reported in this order whichever settles first: the
      // conversation, the model, the branch.
      const [conversationRead, recordRead, pathRead] = await Promise.allSettled([
        getConversation(db, userId, conversationId),
        input.model === undefined ? undefined : options.models.get(input.model),
        input.parentId === null ? [] : branchPath(db, userId, conversationId, input.parentId),
      ]);
      const conversation = settledValue(conversationRead);
      const model = input.model ?? conversation.model;
      if (model === null || model === "") {
        throw new AppError("invalid_request", "model is required: the conversation has none", {
          param: "model",
        });
      }
      // Checked here too (insertTurn does): a model must not start on a question that cannot be stored.
      checkText(input.content, "content");
      const record = settledValue(recordRead);
      const prompt = await promptOf(
        conversation,
        record ?? model,
        settledValue(pathRead),
        input.content,
        since,
      );
      return start(userId, model, prompt, store(model));
    },

    async regenerate(userId, messageId) {
      checkOpen();
      const since = recent.begin();
      const sibling = await getMessage(db, userId, messageId);
      if (sibling.role !== "assistant" || sibling.parentId === null) {
        throw new AppError("invalid_request", "only an answer can be regenerated");
      }
      // Read at once, as in send().
      const [conversationRead, pathRead] = await Promise.allSettled([
        getConversation(db, userId, sibling.conversationId),
        branchPath(db, userId, sibling.conversationId, sibling.parentId),
      ]);
      const conversation = settledValue(conversationRead);
      const model = conversation.model ?? sibling.model;
      if (model === null) throw new AppError("invalid_request", "model is required", { param: "model" });
      const path = settledValue(pathRead);
      const prompt = {
        history: historyOf(conversation, path),
        plan: await preflight(conversation, model),
        path,
        since,
      };
      return start(userId, model, prompt, () => insertSiblingAnswer(db, userId, messageId, model));
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

    forget(conversationId) {
      recent.forget(conversationId);
    },

    abandonConversation(conversationId) {
      recent.forget(conversationId);
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
