/**
 * The push/pull hand-offs between a producer that is called back (IPC messages, sockets,
 * progress callbacks) and a consumer that awaits: one implementation of the wait/notify dance,
 * which is easy to get wrong (a lost wake-up hangs a stream forever).
 */

/** A one-shot wake-up a consumer awaits and a producer fires; firing with no one waiting is a no-op. */
export class Wakeup {
  private wake: (() => void) | undefined;

  /** Resolves at the next notify(). Callers re-check their state after it (loop). */
  wait(): Promise<void> {
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * A FIFO of items pushed by a producer and pulled by one consumer (`next()` or `for await`).
 * `close()` ends it after the items it holds; `fail(error)` ends it too, and `next()` throws the
 * error once the items before it were taken (as a stream that delivered them would).
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  private items: T[] = [];
  private closed = false;
  private failure: { error: unknown } | undefined;
  private readonly wakeup = new Wakeup();

  /** True once closed or failed: pushes are ignored. */
  get ended(): boolean {
    return this.closed || this.failure !== undefined;
  }

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.wakeup.notify();
  }

  close(): void {
    this.closed = true;
    this.wakeup.notify();
  }

  fail(error: unknown): void {
    if (this.ended) return;
    this.failure = { error };
    this.wakeup.notify();
  }

  async next(): Promise<IteratorResult<T, undefined>> {
    for (;;) {
      if (this.items.length > 0) return { done: false, value: this.items.shift() as T };
      if (this.failure) {
        const { error } = this.failure;
        this.closed = true;
        this.failure = undefined;
        throw error;
      }
      if (this.closed) return { done: true, value: undefined };
      await this.wakeup.wait();
    }
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
