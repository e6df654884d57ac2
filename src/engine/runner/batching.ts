/**
 * Runner side: makes the context's generating sequences decode together, one llama_decode per
 * step for all of them, as llama-server's slots do.
 *
 * node-llama-cpp merges the decodes that sequences have queued when its dispatch runs, but each
 * sequence samples its token separately (one libuv job each) and queues its next decode as soon
 * as its own consumer asks for it. The first sequences to finish re-queue while the others are
 * still sampling, and the context's dispatch loop decodes them at once without the rest: with 4
 * streams most steps carried 3 sequences and one stream always lagged a step behind, so the
 * aggregate barely grew with the streams. Here every generating sequence waits, after taking its
 * token, until all of them have theirs (a barrier), then all ask for the next token in the same
 * turn of the event loop and land in one batch.
 *
 * The prioritization strategy gives every queued sequence its token first and fills the rest of
 * the batch with prompt chunks in arrival order, and counts the decode steps and the sequences
 * they carried (the direct, load-independent signal that batching works; see `mark`/`since`).
 *
 * It also puts the batch in sequence-id order. The context keeps one KV stream per sequence
 * (node-llama-cpp creates it with `kv_unified = false`), and for such a cache llama_decode splits
 * the batch into micro-batches that each hold sequences whose ids rise by exactly one in batch
 * order (llama.cpp's `split_equal(..., sequential = true)`), each one more pass over the weights: a
 * batch queued as sequences 2, 0, 1, 3 runs as [2, 3] then [0, 1], one queued 3, 2, 1, 0 as four.
 * The barrier keeps the order in which the sequences first queued, so without the sort a bad order
 * lasted for the streams' whole life. In id order it is one pass (docs/engine.md, Batch order).
 */
import type {
  BatchItem,
  CustomBatchingPrioritizationStrategy,
  LlamaContext,
  PrioritizedBatchItem,
} from "node-llama-cpp";

/**
 * A member that has not arrived after this long is not waited for: the step goes ahead with the
 * others (a safety bound; members only ever lag by one decode, which the barrier then absorbs).
 */
const MAX_WAIT_MS = 1000;

export interface BatchCounters {
  /** Decode steps (llama_decode calls) of the context. */
  steps: number;
  /** Sequences those steps carried, summed (steps × mean batch width). */
  sequences: number;
}

/** What the strategy needs of node-llama-cpp's queued decodes (internal: `_queuedDecodes`). */
interface QueuedDecodes {
  _queuedDecodes?: readonly { sequenceId: number }[];
}

export class DecodeBatching {
  private readonly counters: BatchCounters = { steps: 0, sequences: 0 };
  private context: QueuedDecodes | undefined;
  private members = 0;
  private waiting: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** For `createContext({ batching: { itemPrioritizationStrategy } })`. */
  readonly strategy: CustomBatchingPrioritizationStrategy = ({ items, size }) => {
    const result: PrioritizedBatchItem[] = [];
    let left = size;
    for (const item of items) {
      if (left === 0) break;
      result.push({ item, processAmount: 1 });
      left--;
    }
    for (const prioritized of result) {
      const more = Math.min(left, prioritized.item.tokens.length - 1);
      prioritized.processAmount += more;
      left -= more;
    }
    this.inSequenceOrder(items, result);
    this.counters.steps++;
    this.counters.sequences += result.length;
    return result;
  };

  /** The context whose batches `strategy` orders (set once it exists). */
  attach(context: LlamaContext): void {
    this.context = context as unknown as QueuedDecodes;
  }

  /**
   * Sorts `result` by sequence id. node-llama-cpp builds `items` from its queued decodes in
   * queue order, so `items[i]` belongs to `_queuedDecodes[i]`; where that does not hold (another
   * node-llama-cpp version), the order is left as it is: slower, never wrong.
   */
  private inSequenceOrder(items: readonly BatchItem[], result: PrioritizedBatchItem[]): void {
    const queued = this.context?._queuedDecodes;
    if (result.length < 2 || queued?.length !== items.length) return;
    const ids = new Map<BatchItem, number>();
    items.forEach((item, index) => {
      const id = queued[index]?.sequenceId;
      if (typeof id === "number") ids.set(item, id);
    });
    if (ids.size !== items.length) return;
    result.sort((a, b) => ids.get(a.item)! - ids.get(b.item)!);
  }

  /** The counters now, to pass to `since` later. */
  mark(): BatchCounters {
    return { ...this.counters };
  }

  since(mark: BatchCounters): BatchCounters {
    return { steps: this.counters.steps - mark.steps, sequences: this.counters.sequences - mark.sequences };
  }

  /**
   * Yields `tokens`, and before asking for each next token waits until every other generating
   * sequence has its current one. A sequence becomes a member with its first token (its prompt
   * does not hold the others back) and leaves when the consumer stops.
   */
  async *lockstep<T>(tokens: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
    let joined = false;
    try {
      for await (const token of tokens) {
        if (!joined) {
          joined = true;
          this.members++;
        }
        yield token;
        const step = this.arrive();
        if (step) await step;
      }
    } finally {
      if (joined) {
        this.members--;
        if (this.waiting.length > 0 && this.waiting.length >= this.members) this.release();
      }
    }
  }

  private arrive(): Promise<void> | undefined {
    // Alone: nobody to wait for, and no extra turn of the event loop per token.
    if (this.members <= 1 && this.waiting.length === 0) return undefined;
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (this.waiting.length >= this.members) this.release();
      else this.timer ??= setTimeout(() => this.release(), MAX_WAIT_MS);
    });
  }

  /**
   * Lets everyone waiting go on in one macrotask: by then the context's dispatch loop has seen an
   * empty queue and ended, so all of them queue before the next dispatch and share it.
   */
  private release(): void {
    const released = this.waiting;
    this.waiting = [];
    clearTimeout(this.timer);
    this.timer = undefined;
    setImmediate(() => {
      for (const resolve of released) resolve();
    });
  }
}
