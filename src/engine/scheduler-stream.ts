/**
 * The hand-off between a runner's IPC messages and the `generate()` iterator. Text that arrives
 * while the consumer is busy is joined into one event, so a slow consumer (a congested HTTP
 * stream) costs one event per pull instead of one per token.
 */
import type { AppError } from "../errors.js";
import { Wakeup } from "../lib/async-queue.js";
import type { GenerateEvent, GenerateStats } from "./types.js";

export class EventStream {
  private text = "";
  private stats: GenerateStats | undefined;
  private error: AppError | undefined;
  private ended = false;
  private readonly wakeup = new Wakeup();

  /** True once done or failed: nothing more will arrive. */
  get settled(): boolean {
    return this.stats !== undefined || this.error !== undefined || this.ended;
  }

  pushText(text: string): void {
    if (this.settled) return;
    this.text += text;
    this.notify();
  }

  done(stats: GenerateStats): void {
    if (this.settled) return;
    this.stats = stats;
    this.notify();
  }

  fail(error: AppError): void {
    if (this.settled) return;
    this.error = error;
    this.notify();
  }

  /** The next event; undefined after `done` has been delivered. Throws the failure, if any. */
  async next(): Promise<GenerateEvent | undefined> {
    for (;;) {
      // A failure wins over buffered text: after an abort or crash the stream ends at once.
      if (this.error) throw this.error;
      if (this.text !== "") {
        const text = this.text;
        this.text = "";
        return { type: "text", text };
      }
      if (this.stats) {
        const stats = this.stats;
        this.stats = undefined;
        this.ended = true;
        return { type: "done", stats };
      }
      if (this.ended) return undefined;
      await this.wakeup.wait();
    }
  }

  private notify(): void {
    this.wakeup.notify();
  }
}
