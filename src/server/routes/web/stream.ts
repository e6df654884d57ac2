import type { Context } from "hono";
import type { ChatStream } from "../../../chat/service.js";
import type { Logger } from "../../../logger.js";
import type { AppEnv } from "../../app-env.js";
import { lineStream } from "../../streaming.js";
import { toStreamEventWire } from "./wire.js";

/**
 * Sends an attached chat stream as NDJSON (docs/web-app.md, "Streams"). A client that goes away
 * only detaches: the answer is the server's and goes on (src/chat/generation.ts).
 */
export function chatStreamResponse(c: Context<AppEnv>, stream: ChatStream, logger: Logger): Response {
  const body = lineStream(stream, {
    render: (event) => `${JSON.stringify(toStreamEventWire(event))}\n`,
    // The chat stream never fails: an answer's failure arrives as its `done` (status error).
    renderError: (error) => {
      logger.error({ err: error }, "chat stream failed");
      return undefined;
    },
    onCancel: () => stream.cancel(),
  });
  return c.body(body, 200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" });
}
