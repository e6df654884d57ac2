import type { Context } from "hono";
import type { z } from "zod";
import type { InferenceEvent } from "../../../engine/inference/types.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { completionId, nowSeconds } from "./response.js";
import { linkAbort, sseResponse } from "./stream.js";
import { parseBody } from "./validate.js";

/** The inference events of one generation, as the service yields them. */
export type Events = AsyncGenerator<InferenceEvent, void, undefined>;

/** The first event, already pulled before any header went out. */
export type FirstEvent = IteratorResult<InferenceEvent, void>;

/** Identity of one response, repeated on every chunk of a stream. */
export interface Meta {
  id: string;
  created: number;
  /** The model name as the client sent it (OpenAI echoes the requested model). */
  model: string;
}

/** What one generation endpoint adds to the shared request skeleton. */
export interface Generation {
  /** Prefix of the response id: `chatcmpl` or `cmpl`. */
  idPrefix: "chatcmpl" | "cmpl";
  /** The model name as requested, echoed in `model`. */
  model: string;
  /** Serve server-sent events (`stream: true`) rather than one JSON body. */
  stream: boolean;
  /** Starts the generation; `signal` fires when the client goes away. */
  start(signal: AbortSignal): Events;
  /** Reads every event into the non-streaming response body. */
  collect(first: FirstEvent, events: Events, meta: Meta): Promise<unknown>;
  /** Turns the events into the SSE payloads. */
  chunks(first: FirstEvent, events: Events, meta: Meta): AsyncGenerator<unknown, void>;
}

/**
 * A POST handler for /chat/completions and /completions: parses the body with `schema`, links
 * the client's disconnect to the generation, pulls the first event before any header goes out
 * (an unknown model, a full queue or a failed load is then a real HTTP error, not a 200 stream
 * that fails), then streams or collects the rest.
 */
export function generationHandler<S extends z.ZodType>(
  deps: ServerDeps,
  schema: S,
  plan: (wire: z.output<S>) => Generation,
): (c: Context) => Promise<Response> {
  return async (c) => {
    const generation = plan(parseBody(schema, await readJsonBody(c)));
    const abort = linkAbort(c.req.raw.signal);
    try {
      const events = generation.start(abort.signal);
      const first = await events.next();
      const meta: Meta = {
        id: completionId(generation.idPrefix),
        created: nowSeconds(),
        model: generation.model,
      };
      if (generation.stream) {
        return sseResponse(generation.chunks(first, events, meta), abort, deps.logger);
      }
      // Returning on the done event leaves the generator parked after it: close it so the
      // service's cleanup runs now, not whenever it is collected.
      const body = await generation.collect(first, events, meta).finally(() => events.return(undefined));
      abort.dispose();
      return c.json(body);
    } catch (error: unknown) {
      abort.dispose();
      throw error;
    }
  };
}
