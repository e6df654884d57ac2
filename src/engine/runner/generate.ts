/**
 * Runner side: one generation on one sequence. Tokens come from `LlamaContextSequence.evaluate`
 * (the fastest path node-llama-cpp has: one native decode + sample per token, batched across
 * sequences); per token we only detokenize, check stop strings and post one IPC message.
 */
import { LlamaGrammar, LlamaGrammarEvaluationState } from "node-llama-cpp";
import type {
  Llama,
  LlamaContextSequenceRepeatPenalty,
  LlamaModel,
  SequenceEvaluateOptions,
  Token,
} from "node-llama-cpp";
import { AppError } from "../../errors.js";
import type { OutputFormat, SamplingOptions } from "../types.js";
import type { GenerateSpec, RunnerGenerateStats } from "./protocol.js";
import type { DecodeBatching } from "./batching.js";
import type { SequencePool } from "./sequences.js";
import { speculate } from "./speculation.js";
import type { Speculation, SpeculationCounts } from "./speculation.js";
import { IncrementalDetokenizer, StopMatcher } from "./text.js";
import { vocabulary } from "./vocabulary.js";

/** Ollama's defaults for options a request leaves unset (api/types.go DefaultOptions). */
const DEFAULTS = {
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  minP: 0,
  repeatPenalty: 1.1,
  repeatLastN: 64,
  numKeep: 4,
} as const;

export interface GenerateHooks {
  cancelled: () => boolean;
  text: (text: string) => void;
}

export interface Generator {
  readonly llama: Llama;
  readonly model: LlamaModel;
  readonly pool: SequencePool;
  readonly batching: DecodeBatching;
  /** Context length of each sequence, tokens. */
  readonly contextSize: number;
  /** Speculative decoding (engine.speculative), when on. */
  readonly speculation?: Speculation | undefined;
}

function nowNs(): bigint {
  return process.hrtime.bigint();
}

/**
 * A client's `context` (token ids a previous `/api/generate` returned) must hold this model's ids:
 * llama.cpp refuses others only as a failed evaluation, which would reach the client as an
 * internal error.
 */
function checkContext(model: LlamaModel, context: readonly number[]): void {
  const size = vocabulary(model).length;
  if (size === 0) return;
  const bad = context.find((id) => !Number.isInteger(id) || id < 0 || id >= size);
  if (bad !== undefined) {
    throw new AppError(
      "invalid_request",
      `context holds token id ${bad}, which is not in this model's vocabulary (ids 0 to ${size - 1})`,
      { param: "context" },
    );
  }
}

/** Prompt tokens: special tokens parsed, BOS added when the model wants it and it is missing. */
function promptTokens(model: LlamaModel, prompt: string, context: readonly number[] | undefined): Token[] {
  checkContext(model, context ?? []);
  const tokens = ((context ?? []) as Token[]).concat(prompt === "" ? [] : model.tokenize(prompt, true));
  const bos = model.tokens.bos;
  if (bos !== null && model.tokens.shouldPrependBosToken && tokens[0] !== bos) tokens.unshift(bos);
  return tokens;
}

/**
 * A prompt that does not fit keeps its first `numKeep` tokens and the most recent tokens filling
 * half the context, leaving the other half for the answer (Ollama's rule).
 */
function fitPrompt(tokens: Token[], contextSize: number, numKeep: number): Token[] {
  if (tokens.length < contextSize) return tokens;
  const half = Math.floor(contextSize / 2);
  const keep = Math.max(0, Math.min(numKeep, half));
  return tokens.slice(0, keep).concat(tokens.slice(tokens.length - (half - keep)));
}

const jsonGrammars = new WeakMap<Llama, Promise<LlamaGrammar>>();

/**
 * node-llama-cpp's grammar for a JSON schema's `integer` allows an exponent (`5E86772`,
 * `56336691e-6471141475919161`: a small model wrote both), which JSON parsers read as Infinity or
 * a fraction and schema validators refuse. llama.cpp's own schema converter writes integers as
 * digits only; so does this, by dropping the exponent from that one rule.
 */
export function withoutIntegerExponents(grammar: string): string {
  return grammar.replace(
    /^(integer-number-rule ::= .*?) \(\[eE\] \[-\+\]\? \("0" \| \[1-9\] \[0-9\]\{0,15\}\)\)\?$/m,
    "$1",
  );
}

async function grammarFor(llama: Llama, format: OutputFormat): Promise<LlamaGrammar> {
  try {
    switch (format.type) {
      case "json": {
        let grammar = jsonGrammars.get(llama);
        if (!grammar) {
          grammar = llama.getGrammarFor("json");
          jsonGrammars.set(llama, grammar);
        }
        return await grammar;
      }
      case "json_schema": {
        const grammar = await llama.createGrammarForJsonSchema(format.schema as never);
        const integers = withoutIntegerExponents(grammar.grammar);
        return integers === grammar.grammar ? grammar : new LlamaGrammar(llama, { grammar: integers });
      }
      case "gbnf":
        return new LlamaGrammar(llama, { grammar: format.grammar });
    }
  } catch (error) {
    throw new AppError("invalid_request", `invalid format: ${(error as Error).message}`, { param: "format" });
  }
}

function grammarState(model: LlamaModel, grammar: LlamaGrammar): LlamaGrammarEvaluationState {
  try {
    return new LlamaGrammarEvaluationState({ model, grammar });
  } catch (error) {
    throw new AppError("invalid_request", `invalid grammar: ${(error as Error).message}`, {
      param: "format",
    });
  }
}

/**
 * Holds a format's grammar back until the generated text has contained `after` (GenerateSpec
 * .formatAfter, a thinking model's closing tag), so the reasoning before it is free text. The tag
 * may arrive cut across pieces, so the tail that could begin it is kept. The grammar's state sees
 * no token before then: it constrains the answer from the answer's first token.
 */
class GrammarGate {
  private tail = "";
  constructor(
    private readonly state: LlamaGrammarEvaluationState,
    private after: string | undefined,
  ) {}

  /** node-llama-cpp's evaluate calls this before sampling each token. */
  readonly current = (): LlamaGrammarEvaluationState | undefined =>
    this.after === undefined ? this.state : undefined;

  push(piece: string): void {
    if (this.after === undefined) return;
    const text = this.tail + piece;
    if (text.includes(this.after)) this.after = undefined;
    else this.tail = text.slice(Math.max(0, text.length - this.after.length + 1));
  }
}

function repeatPenalty(
  sampling: SamplingOptions,
  contextSize: number,
  history: Token[],
): LlamaContextSequenceRepeatPenalty | undefined {
  const penalty = sampling.repeatPenalty ?? DEFAULTS.repeatPenalty;
  const presencePenalty = sampling.presencePenalty ?? 0;
  const frequencyPenalty = sampling.frequencyPenalty ?? 0;
  const lastN = sampling.repeatLastN ?? DEFAULTS.repeatLastN;
  const window = lastN < 0 ? contextSize : lastN;
  if (window === 0 || (penalty === 1 && presencePenalty === 0 && frequencyPenalty === 0)) return undefined;
  return {
    punishTokens: () => history.slice(-window),
    maxPunishTokens: window,
    penalty,
    presencePenalty,
    frequencyPenalty,
  };
}

function evaluateOptions(
  sampling: SamplingOptions,
  contextSize: number,
  history: Token[],
  grammar: GrammarGate | undefined,
): SequenceEvaluateOptions {
  const seed =
    sampling.seed !== undefined && sampling.seed >= 0 ? sampling.seed : Math.floor(Math.random() * 2 ** 31);
  const penalty = repeatPenalty(sampling, contextSize, history);
  return {
    temperature: sampling.temperature ?? DEFAULTS.temperature,
    topK: sampling.topK ?? DEFAULTS.topK,
    topP: sampling.topP ?? DEFAULTS.topP,
    minP: sampling.minP ?? DEFAULTS.minP,
    seed,
    ...(penalty ? { repeatPenalty: penalty } : {}),
    ...(grammar ? { grammarEvaluationState: grammar.current } : {}),
  };
}

export async function generate(
  runner: Generator,
  spec: GenerateSpec,
  hooks: GenerateHooks,
): Promise<RunnerGenerateStats | undefined> {
  const receivedAt = nowNs();
  const { model, pool, contextSize } = runner;
  const sampling = spec.sampling;
  // Made before generating even when held back, so an invalid format is a 400, not a broken stream.
  const grammar = spec.format
    ? new GrammarGate(grammarState(model, await grammarFor(runner.llama, spec.format)), spec.formatAfter)
    : undefined;
  const prompt = fitPrompt(
    promptTokens(model, spec.prompt, spec.context),
    contextSize,
    sampling.numKeep ?? DEFAULTS.numKeep,
  );
  const maxTokens =
    sampling.maxTokens !== undefined && sampling.maxTokens >= 0 ? sampling.maxTokens : Infinity;
  if (maxTokens === 0) {
    return {
      doneReason: "length",
      promptTokens: prompt.length,
      evalTokens: 0,
      promptEvalNs: 0,
      evalNs: 0,
      firstTokenNs: 0,
      context: prompt,
      cachedTokens: 0,
    };
  }
  const acquired = await pool.acquire(prompt, hooks.cancelled);
  if (!acquired) return undefined;
  const { sequence } = acquired;
  try {
    const history = prompt.slice();
    const detokenizer = new IncrementalDetokenizer(
      (tokens, last) => model.detokenize(tokens, false, last),
      prompt,
    );
    const stop = new StopMatcher(sampling.stop);
    const startedAt = nowNs();
    let firstTokenAt = startedAt;
    let evalTokens = 0;
    let doneReason: "stop" | "length" = "stop";
    let stopped = false;
    const options = evaluateOptions(sampling, contextSize, history, grammar);
    const batchMark = runner.batching.mark();
    const counts: SpeculationCounts | undefined =
      runner.speculation && !grammar ? { accepted: 0, rejected: 0 } : undefined;
    // A speculating sequence yields several tokens per decode: it stays out of the lockstep
    // barrier, which counts tokens (batching.ts).
    const tokens = counts
      ? speculate(
          sequence,
          acquired.evaluate,
          history,
          options,
          runner.speculation!.proposerFor(sequence),
          counts,
        )
      : runner.batching.lockstep(sequence.evaluate(acquired.evaluate, options));
    for await (const token of tokens) {
      if (hooks.cancelled()) break;
      if (evalTokens === 0) firstTokenAt = nowNs();
      evalTokens++;
      history.push(token);
      const piece = detokenizer.push(token);
      if (piece !== "") {
        grammar?.push(piece);
        const out = stop.push(piece);
        if (out.emit !== "") hooks.text(out.emit);
        if (out.stopped) {
          stopped = true;
          break;
        }
      }
      // Stop before node-llama-cpp would shift the context (drop the beginning to make room).
      if (evalTokens >= maxTokens || sequence.nextTokenIndex + 1 >= contextSize) {
        doneReason = "length";
        break;
      }
    }
    // Cancelled: no more text for anyone; the stats say what was used until then.
    if (!stopped && !hooks.cancelled()) {
      const tail = stop.push(detokenizer.flush());
      const rest = tail.emit + (tail.stopped ? "" : stop.flush());
      if (rest !== "") hooks.text(rest);
      if (tail.stopped) doneReason = "stop";
    }
    const endedAt = nowNs();
    return {
      ...(counts ? { speculative: counts } : {}),
      doneReason,
      promptTokens: prompt.length,
      evalTokens,
      promptEvalNs: Number((evalTokens > 0 ? firstTokenAt : endedAt) - startedAt),
      evalNs: Number(evalTokens > 0 ? endedAt - firstTokenAt : 0n),
      firstTokenNs: Number((evalTokens > 0 ? firstTokenAt : endedAt) - receivedAt),
      context: history,
      cachedTokens: acquired.reused,
      batch: runner.batching.since(batchMark),
    };
  } finally {
    pool.release(sequence);
  }
}
