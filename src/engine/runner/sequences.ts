/**
 * Runner side: hands out the context's sequences, which double as the prompt cache (Ollama's and
 * llama-server's slot reuse). A request gets the free sequence whose cached tokens share the
 * longest prefix with its prompt, so a chat turn re-evaluates only what is new. A request that
 * shares no useful prefix with any of them takes an empty sequence, else the one used least
 * recently, so one unrelated request does not throw away the cache the next turn of a chat needs;
 * the cache it lands on is erased where it differs (it has no reuse value for this prompt, and
 * stale cells would only cost memory and attention work).
 * The scheduler never sends more requests than sequences, except in the few milliseconds after an
 * abort (it frees the slot at once while the sequence finishes its current token): those wait here.
 */
import type { LlamaContext, LlamaContextSequence, Token } from "node-llama-cpp";

interface Waiter {
  tokens: readonly Token[];
  resolve: (sequence: LlamaContextSequence | undefined) => void;
}

export interface Acquired {
  sequence: LlamaContextSequence;
  /** Prompt tokens still to evaluate (the cached prefix is kept in the sequence). */
  evaluate: Token[];
  /** Tokens reused from the cache. */
  reused: number;
}

/**
 * A shared prefix shorter than this is not worth routing for: a chat template's opening
 * (`<s><|im_start|>system\n`) is shared by every chat and takes milliseconds to evaluate.
 */
const MIN_REUSE_TOKENS = 32;

/** How many tokens `a` and `b` share from the start (a cache's reuse, a draft's kept tokens). */
export function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

export class SequencePool {
  private readonly free: LlamaContextSequence[] = [];
  private readonly waiters: Waiter[] = [];
  /** When each sequence was last released (a counter, not a clock): the LRU order of caches. */
  private readonly lastUsed = new Map<LlamaContextSequence, number>();
  private uses = 0;

  constructor(context: LlamaContext) {
    for (let i = 0; i < context.totalSequences; i++) this.free.push(context.getSequence());
  }

  /** Waits for a sequence; resolves undefined if `cancelled()` became true while waiting. */
  async acquire(tokens: readonly Token[], cancelled: () => boolean): Promise<Acquired | undefined> {
    const sequence = this.takeBest(tokens) ?? (await this.wait(tokens));
    if (!sequence) return undefined;
    if (cancelled()) {
      this.release(sequence);
      return undefined;
    }
    try {
      return await this.prepare(sequence, tokens);
    } catch (error) {
      this.release(sequence);
      throw error;
    }
  }

  release(sequence: LlamaContextSequence): void {
    this.lastUsed.set(sequence, ++this.uses);
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(sequence);
    else this.free.push(sequence);
  }

  private wait(tokens: readonly Token[]): Promise<LlamaContextSequence | undefined> {
    return new Promise((resolve) => this.waiters.push({ tokens, resolve }));
  }

  private takeBest(tokens: readonly Token[]): LlamaContextSequence | undefined {
    if (this.free.length === 0) return undefined;
    let best = 0;
    let bestLength = -1;
    this.free.forEach((sequence, index) => {
      const length = commonPrefix(sequence.contextTokens, tokens);
      if (length > bestLength) {
        best = index;
        bestLength = length;
      }
    });
    if (bestLength < MIN_REUSE_TOKENS) best = this.leastValuable();
    return this.free.splice(best, 1)[0];
  }

  /** Index of the free sequence whose cache is cheapest to lose: empty first, then the LRU one. */
  private leastValuable(): number {
    let best = 0;
    let bestKey = Infinity;
    this.free.forEach((sequence, index) => {
      const key = sequence.nextTokenIndex === 0 ? -1 : (this.lastUsed.get(sequence) ?? 0);
      if (key < bestKey) {
        best = index;
        bestKey = key;
      }
    });
    return best;
  }

  /** Drops what differs from the prompt; at least one prompt token is always evaluated (for logits). */
  private async prepare(sequence: LlamaContextSequence, tokens: readonly Token[]): Promise<Acquired> {
    const cached = sequence.contextTokens;
    const reused = Math.min(commonPrefix(cached, tokens), Math.max(0, tokens.length - 1));
    try {
      if (reused < sequence.nextTokenIndex) {
        await sequence.eraseContextTokenRanges([{ start: reused, end: sequence.nextTokenIndex }]);
      }
      if (sequence.nextTokenIndex === reused) return { sequence, evaluate: tokens.slice(reused), reused };
    } catch {
      // Some models (recurrent, SWA) cannot erase an arbitrary range: start from scratch.
    }
    await sequence.clearHistory();
    return { sequence, evaluate: tokens.slice(), reused: 0 };
  }
}
