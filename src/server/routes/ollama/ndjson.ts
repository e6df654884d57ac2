import type { Context } from "hono";
import type { Logger } from "../../../logger.js";
import { lineStream, streamErrorRecord } from "../../streaming.js";

const NDJSON = "application/x-ndjson";

export interface NdjsonOptions<T> {
  /** The wire object for one item; undefined skips it. */
  render(item: T): object | undefined;
  /** Abort the work behind `items` (client went away). */
  onCancel: () => void;
  /** Called once when the stream ends for any reason (release what links it to the request). */
  onEnd?: () => void;
  logger: Logger;
}

/**
 * Streams `items` as NDJSON. Once output has started a failure can no longer change the status,
 * so it becomes one final `{"error":"..."}` line (Ollama's in-band error) and the stream ends.
 * A client that went away gets nothing more: there is no one to tell.
 */
export function ndjsonResponse<T>(c: Context, items: AsyncIterator<T>, options: NdjsonOptions<T>): Response {
  const stream = lineStream(items, {
    render: (item) => {
      const wire = options.render(item);
      return wire === undefined ? undefined : `${JSON.stringify(wire)}\n`;
    },
    renderError: (error) =>
      streamErrorRecord(
        error,
        options.logger,
        (appError) => `${JSON.stringify({ error: appError.message })}\n`,
      ),
    onCancel: options.onCancel,
    ...(options.onEnd ? { onEnd: options.onEnd } : {}),
  });
  return c.body(stream, 200, { "Content-Type": NDJSON, "Cache-Control": "no-store" });
}
