import { AppError } from "../../errors.js";
import type { ChatMessage } from "./types.js";

/**
 * Fitting a prompt into the model's context, as Ollama does (server/prompt.go chatPrompt): a chat
 * that outgrows `num_ctx` loses its oldest turns, never its system messages nor its newest message;
 * a tool call is never separated from its results. Unlike Ollama the runner does not shift the
 * context while answering, so when turns must go, a quarter of the context (at most `num_predict`)
 * is left free for the answer.
 */

/** Tokens a prompt of `bytes` UTF-8 bytes can at most take (one byte per token, plus BOS/space). */
const SLACK_TOKENS = 8;

export interface FitOptions {
  /** Context length of the sequence the prompt will run in, tokens. */
  contextLength: number;
  /** false: refuse instead of dropping anything. */
  truncate: boolean;
  /** num_predict, when the request set one (bounds the room kept for the answer). */
  maxTokens: number | undefined;
  /** Token count of a prompt (the runner's tokenizer). */
  count: (prompt: string) => Promise<number>;
}

function answerRoom(options: FitOptions): number {
  const quarter = Math.floor(options.contextLength / 4);
  const max = options.maxTokens;
  return max !== undefined && max >= 0 ? Math.min(max, quarter) : quarter;
}

function tooLong(tokens: number, contextLength: number, what: string): AppError {
  return new AppError(
    "context_length_exceeded",
    `${what} is ${tokens} tokens, more than the context of ${contextLength} tokens (num_ctx) holds`,
  );
}

/** Counts `prompt` unless its size alone shows it fits (every token covers at least one byte). */
async function tokensOver(prompt: string, limit: number, options: FitOptions): Promise<number | undefined> {
  if (Buffer.byteLength(prompt) + SLACK_TOKENS < limit) return undefined;
  const tokens = await options.count(prompt);
  return tokens < limit ? undefined : tokens;
}

/**
 * Where a kept tail may start: at a user message. Not at a tool result (its call would be lost),
 * nor at an assistant turn (templates that check user/assistant alternation would refuse it).
 */
function cutPoints(messages: readonly ChatMessage[]): number[] {
  const points: number[] = [];
  for (let i = 1; i < messages.length; i++) if (messages[i]?.role === "user") points.push(i);
  return points;
}

function keptFrom(messages: readonly ChatMessage[], start: number): ChatMessage[] {
  return [...messages.slice(0, start).filter((m) => m.role === "system"), ...messages.slice(start)];
}

/**
 * The rendered prompt of the longest tail of `messages` that fits, and how many messages were
 * dropped. Throws `context_length_exceeded` when nothing fits or `truncate` is false.
 */
export async function fitConversation(
  messages: readonly ChatMessage[],
  render: (messages: readonly ChatMessage[]) => string,
  options: FitOptions,
): Promise<{ prompt: string; dropped: number }> {
  const { contextLength } = options;
  const full = render(messages);
  const budget = contextLength - answerRoom(options);
  const fullTokens = await tokensOver(full, budget, options);
  if (fullTokens === undefined) return { prompt: full, dropped: 0 };
  if (fullTokens < contextLength && (!options.truncate || messages.length < 2)) {
    return { prompt: full, dropped: 0 };
  }
  if (!options.truncate) throw tooLong(fullTokens, contextLength, "the prompt");
  const points = cutPoints(messages);
  // Token counts fall as turns go: binary search for the earliest cut that fits the budget.
  let low = 0;
  let high = points.length - 1;
  let best: { prompt: string; start: number } | undefined;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const start = points[mid] as number;
    const prompt = render(keptFrom(messages, start));
    if ((await tokensOver(prompt, budget, options)) === undefined) {
      best = { prompt, start };
      high = mid - 1;
    } else {
      low = mid + 1;
    }
  }
  if (best) return { prompt: best.prompt, dropped: droppedBefore(messages, best.start) };
  // Not even the newest turn fits the budget: it still runs if it fits the context at all.
  const last = points.at(-1);
  const prompt = last === undefined ? full : render(keptFrom(messages, last));
  const tokens = await tokensOver(prompt, contextLength, options);
  if (tokens !== undefined) {
    const what = messages.some((m) => m.role === "system")
      ? "the newest message with the system prompt"
      : "the newest message";
    throw tooLong(tokens, contextLength, what);
  }
  return { prompt, dropped: last === undefined ? 0 : droppedBefore(messages, last) };
}

function droppedBefore(messages: readonly ChatMessage[], start: number): number {
  return messages.slice(0, start).filter((m) => m.role !== "system").length;
}

/**
 * `/api/generate` with `context`: the oldest context tokens go first (the newest prompt, which
 * carries the system prompt again, is kept whole). Returns the context to send.
 */
export async function fitContext(
  context: readonly number[],
  prompt: string,
  options: FitOptions,
): Promise<number[]> {
  const { contextLength } = options;
  const limit = contextLength - context.length;
  const over = await tokensOver(prompt, limit, options);
  if (over === undefined) return [...context];
  if (!options.truncate) throw tooLong(over + context.length, contextLength, "the context with the prompt");
  if (over >= contextLength) throw tooLong(over, contextLength, "the prompt");
  const room = Math.max(0, contextLength - answerRoom(options) - over);
  return room === 0 ? [] : context.slice(-room);
}
