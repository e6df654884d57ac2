/**
 * Helpers for streamed responses of both API families. The rule they serve (docs/architecture.md): a failure
 * before the first byte is a real HTTP error; after it, one in-band error record ends the stream.
 */
import type { AppError } from "../errors.js";
import { toAppError } from "../errors.js";
import { AsyncQueue } from "../lib/async-queue.js";
import type { Logger } from "../logger.js";

/**
 * Pulls the first item of `source` now, so anything that fails before output (unknown model,
 * queue full, load failure) throws here, before the route commits to a 200 and a stream.
 * Returns an iterator that yields that first item again, then the rest.
 */
export async function primeIterator<T>(source: AsyncIterable<T>): Promise<AsyncIterableIterator<T>> {
  const inner = source[Symbol.asyncIterator]();
  let first: IteratorResult<T> | undefined = await inner.next();
  const primed: AsyncIterableIterator<T> = {
    next() {
      if (first !== undefined) {
        const result = first;
        first = undefined;
        return Promise.resolve(result);
      }
      return inner.next();
    },
    return(value?: unknown) {
      first = undefined;
      if (inner.return) return inner.return(value);
      return Promise.resolve({ done: true, value: value as T });
    },
    [Symbol.asyncIterator]() {
      return primed;
    },
  };
  return primed;
}

/**
 * The in-band record that ends a stream after `error`, rendered by `render` in the API family's
 * error shape; logs the failure (as an error when it is the server's fault). A client that went
 * away gets nothing: there is no one to tell.
 */
export function streamErrorRecord(
  error: unknown,
  logger: Logger,
  render: (error: AppError) => string,
): string | undefined {
  const appError = toAppError(error);
  if (appError.code === "client_closed") return undefined;
  // A closing server's cut is no failure of the server's own.
  const failure = appError.status >= 500 && appError.code !== "shutting_down";
  logger[failure ? "error" : "info"](
    { err: appError.cause ?? appError, code: appError.code },
    "stream ended with an error",
  );
  return render(appError);
}

/**
 * The abort signal of one generation: fires when the client goes away (the request's own
 * signal, which @hono/node-server aborts when the socket closes early), when the SSE stream is
 * cancelled, or when a closing server cuts what outlived its drain period (`cut`, whose reason
 * is the error record the stream ends with), for both API families. Aborting frees the engine
 * slot at once; `dispose()` drops the listeners once the response is done.
 */
export interface RequestAbort {
  readonly signal: AbortSignal;
  /** Aborts the generation (with `reason`, or the default AbortError). */
  readonly abort: (reason?: unknown) => void;
  readonly dispose: () => void;
}

export function linkAbort(requestSignal: AbortSignal, cut?: AbortSignal): RequestAbort {
  const controller = new AbortController();
  const sources = cut === undefined ? [requestSignal] : [requestSignal, cut];
  const listeners = sources.map((source) => {
    const onAbort = (): void => controller.abort(source.reason);
    if (source.aborted) onAbort();
    else source.addEventListener("abort", onAbort, { once: true });
    return () => source.removeEventListener("abort", onAbort);
  });
  return {
    signal: controller.signal,
    abort: (reason?: unknown) => controller.abort(reason),
    dispose: () => listeners.forEach((remove) => remove()),
  };
}

export interface LineStreamOptions<T> {
  /** The wire record of one item; `undefined` skips the item. */
  render(item: T): string | undefined;
  /** The wire record that ends a stream after a failure (e.g. `{"error":"..."}\n`); undefined writes nothing. */
  renderError(error: unknown): string | undefined;
  /** Called when the client stops reading (disconnect): abort the work behind the iterator. */
  onCancel: () => void;
  /** Called once when the stream ends for any reason. */
  onEnd?(): void;
}

/**
 * A pull-driven byte stream over an iterator: the next item is requested only when the socket
 * wants more, so a slow client slows generation instead of buffering it in memory.
 */
export function lineStream<T>(
  items: AsyncIterator<T>,
  options: LineStreamOptions<T>,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    options.onEnd?.();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        for (;;) {
          const result = await items.next();
          if (result.done) {
            end();
            controller.close();
            return;
          }
          const line = options.render(result.value);
          if (line !== undefined) {
            controller.enqueue(encoder.encode(line));
            return;
          }
        }
      } catch (error) {
        const line = options.renderError(error);
        end();
        // The client may already be gone, in which case the stream is closed and these throw.
        try {
          if (line !== undefined) controller.enqueue(encoder.encode(line));
          controller.close();
        } catch {
          /* stream already cancelled */
        }
      }
    },
    cancel() {
      options.onCancel();
      end();
      // Not awaited: the work ends once the abort lands, and a generator parked on an engine
      // call would otherwise hold the socket's cleanup.
      items.return?.().catch(() => undefined);
    },
  });
}

/**
 * Turns callback-style progress (`run` calls `emit` as it goes) into an async iterator; `run`'s
 * rejection is thrown from the iterator after the items emitted before it. Items are buffered
 * (progress lines are few and small).
 */
export function progressIterator<T>(
  run: (emit: (item: T) => void) => Promise<void>,
): AsyncIterableIterator<T> {
  const queue = new AsyncQueue<T>();
  run((item) => queue.push(item)).then(
    () => queue.close(),
    (error: unknown) => queue.fail(error),
  );
  return queue;
}
