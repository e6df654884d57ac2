/**
 * Runner side: speculative decoding (engine.speculative, docs/engine.md). A proposer guesses the
 * next tokens — `draft`: a small model with the same vocabulary, greedy, on a sequence of its own
 * context; `lookup`: node-llama-cpp's InputLookupTokenPredictor, which finds the last tokens in the
 * prompt and proposes what followed them there (code edits repeat their input). The target model
 * evaluates the pending token and every proposal in one batch, sampling after each position
 * with that position's own repeat penalty, and keeps proposals while they equal what it sampled:
 * the output is what one-token-at-a-time decoding gives, in fewer decode steps.
 *
 * The loop is ours, on `controlledEvaluate`, rather than node-llama-cpp's `tokenPredictor`
 * sequence option: in 3.21.1 that path accepts at most one proposal per batch (its check for the
 * second one reads an array nothing fills), so a 16-token draft yielded 2 tokens per step.
 */
import { vocabulary } from "./vocabulary.js";
import { basename } from "node:path";
import { InputLookupTokenPredictor } from "node-llama-cpp";
import type {
  ControlledEvaluateInputItem,
  Llama,
  LlamaContext,
  LlamaContextSequence,
  LlamaContextSequenceRepeatPenalty,
  LlamaModel,
  SequenceEvaluateOptions,
  Token,
} from "node-llama-cpp";
import type { LoadSpec } from "./protocol.js";
import { commonPrefix } from "./sequences.js";

/** Most tokens a draft model proposes per step (llama-server's default --draft-max is 16). */
const DRAFT_MAX_TOKENS = 16;
/** A draft stops proposing at a token it gives less probability than this (node-llama-cpp's). */
const DRAFT_MIN_CONFIDENCE = 0.6;
/**
 * Most tokens prompt lookup proposes per step (node-llama-cpp's default is 3). On this project's
 * CPUs a batch of 5 already costs ~4x one token and 17 ~8x (bench model, 1 thread): long copied
 * spans pay off only with long guesses (bench/speculative.ts: 1.12x with 8, 1.54x with 16).
 */
const LOOKUP_MAX_TOKENS = 16;

/** Guesses the tokens after `history` (prompt plus what was generated so far). */
interface Proposer {
  start(prompt: Token[]): void;
  propose(history: readonly Token[], max: number): Promise<Token[]>;
}

function lookupProposer(): Proposer {
  const predictor = new InputLookupTokenPredictor({ predictionLength: { max: LOOKUP_MAX_TOKENS } });
  let known = 0;
  return {
    start(prompt) {
      predictor.updateInputTokens(prompt);
      known = -1;
    },
    async propose(history, max) {
      if (known < 0) predictor.reset({ stateTokens: history.slice() });
      else predictor.pushTokens(history.slice(known));
      known = history.length;
      return predictor.predictTokens().slice(0, max);
    },
  };
}

function draftProposer(sequence: LlamaContextSequence): Proposer {
  return {
    start: () => undefined,
    async propose(history, max) {
      // Keep what the draft's cache shares with the history; at least one token is evaluated.
      const keep = Math.min(commonPrefix(sequence.contextTokens, history), history.length - 1);
      if (keep < sequence.nextTokenIndex) {
        await sequence.eraseContextTokenRanges([{ start: keep, end: sequence.nextTokenIndex }]);
      }
      if (sequence.nextTokenIndex !== keep) await sequence.clearHistory();
      const limit = Math.min(max, DRAFT_MAX_TOKENS, sequence.contextSize - history.length - 1);
      const proposed: Token[] = [];
      if (limit <= 0) return proposed;
      const tokens = history.slice(sequence.nextTokenIndex);
      for await (const { token, confidence } of sequence.evaluateWithMetadata(
        tokens,
        { confidence: true },
        { temperature: 0, yieldEogToken: true },
      )) {
        if (confidence < DRAFT_MIN_CONFIDENCE) break;
        proposed.push(token);
        if (proposed.length >= limit || sequence.model.isEogToken(token)) break;
      }
      return proposed;
    },
  };
}

export interface Speculation {
  /** The proposer of a sequence of the target's context (one generation at a time uses it). */
  proposerFor(sequence: LlamaContextSequence): Proposer;
  dispose(): Promise<void>;
}

/** One proposer per target sequence, made when the sequence first generates. */
function perSequence(make: () => Proposer): Speculation["proposerFor"] {
  const proposers = new WeakMap<LlamaContextSequence, Proposer>();
  return (sequence) => {
    let proposer = proposers.get(sequence);
    if (!proposer) {
      proposer = make();
      proposers.set(sequence, proposer);
    }
    return proposer;
  };
}

async function loadDraft(
  llama: Llama,
  spec: LoadSpec,
  target: LlamaContext,
): Promise<{ model: LlamaModel; context: LlamaContext }> {
  const path = spec.draftModelPath;
  if (path === undefined) throw new Error("speculative decoding with a draft needs a draft model");
  const model = await llama.loadModel({
    modelPath: path,
    gpuLayers: spec.gpuLayers ?? "auto",
    ...(spec.useMmap === undefined ? {} : { useMmap: spec.useMmap }),
  });
  try {
    const context = await model.createContext({
      contextSize: target.contextSize,
      sequences: target.totalSequences,
      // Half the runner's threads (llama-server has --threads-draft): a draft model is small, its
      // steps are short, and thread hand-offs dominate them. With 2 threads on 2 busy cores a
      // tiny draft took ~150 ms a token instead of ~2 (it runs between the target's steps).
      threads: Math.max(1, Math.floor(spec.threads / 2)),
      failedCreationRemedy: false,
      flashAttention: spec.flashAttention === "auto" ? "auto" : spec.flashAttention === "on",
    });
    return { model, context };
  } catch (error) {
    await model.dispose();
    throw error;
  }
}

/**
 * llama.cpp's rule for a usable draft (common/speculative.cpp): same vocabulary type and special
 * tokens, sizes within 128, and the same text for every token past the first five.
 */
function checkVocabulary(target: LlamaModel, draft: LlamaModel): string | undefined {
  if (target.vocabularyType !== draft.vocabularyType) return "its vocabulary type differs";
  const t = target.tokens;
  const d = draft.tokens;
  if (t.bos !== d.bos || t.eos !== d.eos || t.shouldPrependBosToken !== d.shouldPrependBosToken) {
    return "its special tokens differ";
  }
  const a = vocabulary(target);
  const b = vocabulary(draft);
  if (Math.abs(a.length - b.length) > 128) {
    return `its vocabulary has ${b.length} tokens, this model's ${a.length}`;
  }
  for (let id = 5; id < Math.min(a.length, b.length); id++) {
    if (a[id] !== b[id]) return `its vocabulary differs (token ${id})`;
  }
  return undefined;
}

/** The proposers for a loaded target context, or undefined when speculation is off. */
export async function setUpSpeculation(
  llama: Llama,
  spec: LoadSpec,
  target: LlamaContext,
): Promise<Speculation | undefined> {
  if (spec.speculative === undefined) return undefined;
  if (spec.speculative === "lookup") {
    return { proposerFor: perSequence(lookupProposer), dispose: async () => undefined };
  }
  const draft = await loadDraft(llama, spec, target);
  const reason = checkVocabulary(target.model, draft.model);
  if (reason !== undefined) {
    await draft.context.dispose();
    await draft.model.dispose();
    throw new Error(
      `draft model ${basename(spec.draftModelPath ?? "")} cannot draft for this model: ${reason}`,
    );
  }
  const free = Array.from({ length: draft.context.totalSequences }, () => draft.context.getSequence());
  return {
    proposerFor: perSequence(() => {
      const sequence = free.pop();
      if (!sequence) throw new Error("more proposers than draft sequences");
      return draftProposer(sequence);
    }),
    async dispose() {
      await draft.context.dispose();
      await draft.model.dispose();
    },
  };
}

export interface SpeculationCounts {
  /** Proposed tokens the target confirmed. */
  accepted: number;
  /** Proposed tokens the target sampled differently (their batch positions were wasted). */
  rejected: number;
}

/** Sampling options for one batch position: its own repeat-penalty window and seed. */
function positionOptions(
  options: SequenceEvaluateOptions,
  recent: Token[] | undefined,
  seed: number,
): NonNullable<NonNullable<Extract<ControlledEvaluateInputItem, unknown[]>[1]["generateNext"]>["options"]> {
  const penalty: LlamaContextSequenceRepeatPenalty | undefined = options.repeatPenalty
    ? { ...options.repeatPenalty, punishTokens: recent ?? [] }
    : undefined;
  return {
    ...(options.temperature === undefined ? {} : { temperature: options.temperature }),
    ...(options.topK === undefined ? {} : { topK: options.topK }),
    ...(options.topP === undefined ? {} : { topP: options.topP }),
    ...(options.minP === undefined ? {} : { minP: options.minP }),
    seed,
    ...(penalty ? { repeatPenalty: penalty } : {}),
  };
}

/**
 * Generates like `sequence.evaluate(tokens, options)` (without context shifts: the caller stops
 * before the context is full), checking the proposer's guesses in each batch. `history` is the
 * prompt plus the tokens yielded so far (the caller appends each yielded token to it). Grammars
 * are not supported here: requests with a format decode without speculation.
 */
export async function* speculate(
  sequence: LlamaContextSequence,
  tokens: Token[],
  history: Token[],
  options: SequenceEvaluateOptions,
  proposer: Proposer,
  counts: SpeculationCounts,
): AsyncGenerator<Token, void, undefined> {
  const window = options.repeatPenalty?.maxPunishTokens ?? 0;
  const baseSeed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  proposer.start(history.slice());
  let pending = tokens;
  for (let step = 0; ; step++) {
    // Room for the batch: the caller stops one token before the context is full.
    const room = sequence.contextSize - 1 - sequence.nextTokenIndex - pending.length;
    const proposed = room > 1 ? await proposer.propose(history, room - 1) : [];
    const last = pending.length - 1;
    const input: ControlledEvaluateInputItem[] = pending.slice(0, last);
    const guesses = [pending[last] as Token, ...proposed];
    guesses.forEach((token, j) => {
      const recent = window > 0 ? history.concat(proposed.slice(0, j)).slice(-window) : undefined;
      // A seed per position and step: one seed for every step would draw the same number each time.
      const seed = (baseSeed + step * 131 + j) % 2 ** 31;
      input.push([token, { generateNext: { token: true, options: positionOptions(options, recent, seed) } }]);
    });
    const output = await sequence.controlledEvaluate(input);
    const sampledAt = (j: number): Token => {
      const token = output[last + j]?.next.token;
      if (token === undefined || token === null) throw new Error("failed to sample the next token");
      return token;
    };
    let accepted = 0;
    while (accepted < proposed.length && sampledAt(accepted) === proposed[accepted]) accepted++;
    counts.accepted += accepted;
    counts.rejected += proposed.length - accepted;
    const rejected = proposed.length - accepted;
    if (rejected > 0) {
      const end = sequence.nextTokenIndex;
      await sequence.eraseContextTokenRanges([{ start: end - rejected, end }]);
    }
    // The accepted proposals, then the token sampled after the last of them.
    for (let j = 0; j <= accepted; j++) {
      const token = sampledAt(j);
      if (sequence.model.isEogToken(token)) return;
      yield token;
    }
    pending = [sampledAt(accepted)];
  }
}
