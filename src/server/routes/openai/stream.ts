import type { Logger } from "../../../logger.js";
import { lineStream, streamErrorRecord, type RequestAbort } from "../../streaming.js";
import { toOpenAIError } from "./errors.js";

/** Marks the normal end of an SSE stream: written as OpenAI's `data: [DONE]`. */
const DONE = Symbol("done");

async function* thenDone<T>(payloads: AsyncGenerator<T, void>): AsyncGenerator<T | typeof DONE, void> {
  yield* payloads;
  yield DONE;
}

/**
 * Serves `payloads` as OpenAI-style server-sent events: one `data: <json>` per payload, then
 * `data: [DONE]`. The caller has already pulled the first inference event, so anything that
 * fails here happens after the 200 went out: it becomes one `data: {"error":{...}}` event and
 * the stream ends without [DONE], so clients see a failure rather than a short answer.
 */
export function sseResponse(
  payloads: AsyncGenerator<unknown, void>,
  abort: RequestAbort,
  logger: Logger,
): Response {
  const body = lineStream(thenDone(payloads), {
    render: (item) => `data: ${item === DONE ? "[DONE]" : JSON.stringify(item)}\n\n`,
    renderError: (error) =>
      streamErrorRecord(
        error,
        logger,
        (appError) => `data: ${JSON.stringify(toOpenAIError(appError).body)}\n\n`,
      ),
    onCancel: () => abort.abort(),
    onEnd: () => abort.dispose(),
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      // Reverse proxies (nginx) buffer responses unless told not to; tokens must flow as made.
      "x-accel-buffering": "no",
    },
  });
}
