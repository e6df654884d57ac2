import type { Context } from "hono";
import type { z } from "zod";
import type { InferenceEvent } from "../../../engine/inference/types.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { completionId, noDone, nowSeconds } from "./response.js";
import { linkAbort } from "../../streaming.js";
import { sseResponse } from "./stream.js";
import { parseBody } from "./validate.js";

/** The inference events of one generation, as the service yields them. */
type Events = AsyncGenerator<InferenceEvent, void, undefined>;

/** Identity of one response, repeated on every chunk of a stream. */
export interface Meta {
  id: string;
  created: number;
  /** The model name as the client sent it (OpenAI echoes the requested model). */
  model: string;
}

/** The fields /chat/completions and /completions share (`samplingShape`) that the handler reads. */
interface GenerationWire {
  model: string;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
}

/** What one generation endpoint adds to the shared request skeleton. */
export interface Generation {
  /** Prefix of the response id: `chatcmpl` or `cmpl`. */
  idPrefix: "chatcmpl" | "cmpl";
  /** Starts the generation; `signal` fires when the client goes away. */
  start(signal: AbortSignal): Events;
  /** Reads the events (see generationEvents) into the non-streaming response body. */
  collect(events: AsyncIterable<InferenceEvent>, meta: Meta): Promise<unknown>;
  /**
   * Turns the events (see generationEvents) into the SSE payloads; with `includeUsage`
   * (`stream_options.include_usage`) they end with a usage chunk.
   */
  chunks(
    events: AsyncIterable<InferenceEvent>,
    meta: Meta,
    includeUsage: boolean,
  ): AsyncGenerator<unknown, void>;
}

/**
 * The events of one generation, the already pulled first one included. Closes the service's
 * generator however the reader stops (a client gone early lets the service release its engine
 * slot at once), and fails if the events end without `done` rather than hiding a short answer.
 */
async function* generationEvents(
  first: IteratorResult<InferenceEvent, void>,
  events: Events,
): AsyncGenerator<InferenceEvent, void> {
  let done = false;
  try {
    for (let step = first; !step.done; step = await events.next()) {
      const event = step.value;
      if (event.type === "done") done = true;
      yield event;
    }
  } finally {
    await events.return(undefined);
  }
  if (!done) throw noDone();
}

/**
 * A POST handler for /chat/completions and /completions: parses the body with `schema`, links
 * the client's disconnect to the generation, pulls the first event before any header goes out
 * (an unknown model, a full queue or a failed load is then a real HTTP error, not a 200 stream
 * that fails), then streams or collects the rest.
 */
export function generationHandler<S extends z.ZodType<GenerationWire>>(
  deps: ServerDeps,
  schema: S,
  plan: (wire: z.output<S>) => Generation,
): (c: Context<AppEnv>) => Promise<Response> {
  return async (c) => {
    const wire = parseBody(schema, await readJsonBody(c));
    const generation = plan(wire);
    const abort = linkAbort(c.req.raw.signal, c.get("cut"));
    try {
      const events = generation.start(abort.signal);
      const first = await events.next();
      const meta: Meta = {
        id: completionId(generation.idPrefix),
        created: nowSeconds(),
        model: wire.model,
      };
      if (wire.stream === true) {
        const includeUsage = wire.stream_options?.include_usage === true;
        return sseResponse(
          generation.chunks(generationEvents(first, events), meta, includeUsage),
          abort,
          deps.logger,
        );
      }
      // collect() returning on the done event closes generationEvents and so the service's
      // generator; closing it here too covers a collect() that stops without reading to done.
      const body = await generation
        .collect(generationEvents(first, events), meta)
        .finally(() => events.return(undefined));
      abort.dispose();
      return c.json(body);
    } catch (error: unknown) {
      abort.dispose();
      throw error;
    }
  };
}
