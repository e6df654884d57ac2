import { homedir, tmpdir } from "node:os";
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HTTPException } from "hono/http-exception";
import { modelsPath } from "../config/load.js";
import { AppError, toAppError } from "../errors.js";
import type { ServerDeps } from "./context.js";
import { toOllamaError } from "./routes/ollama/errors.js";
import { toOpenAIError } from "./routes/openai/errors.js";
import { isWebApiPath, toWebError } from "./routes/web/errors.js";

/** Whether a path belongs to the OpenAI-compatible family (mounted at /v1). */
export function isOpenAIPath(path: string): boolean {
  return path === "/v1" || path.startsWith("/v1/");
}

/**
 * Replaces this machine's directories in a message with placeholders: errors go to clients,
 * which have no business learning the home directory or where models live.
 */
function createScrubber(deps: ServerDeps): (message: string) => string {
  const places: [string, string][] = [
    [modelsPath(deps.config), "<models>"],
    [deps.config.home, "<home>"],
    [tmpdir(), "<tmp>"],
    [process.cwd(), "<cwd>"],
    [homedir(), "~"],
  ];
  const prefixes = places.filter(([dir]) => dir.length > 1).sort((a, b) => b[0].length - a[0].length);
  return (message) => prefixes.reduce((text, [dir, label]) => text.split(dir).join(label), message);
}

function fromUnknown(error: unknown): AppError {
  // Hono's own exceptions (malformed URL parameters and the like) carry a client status.
  if (error instanceof HTTPException && error.status < 500) {
    return new AppError("invalid_request", error.message || "invalid request", { status: error.status });
  }
  return toAppError(error);
}

const DENIALS = new Set(["unauthorized", "forbidden", "rate_limited"]);

/**
 * Builds the error response for a request: Ollama's `{"error"}`, OpenAI's `{"error":{...}}` or
 * the web app's `{"error":{"code","message"}}` by path, `Retry-After` when the error has one, messages scrubbed of local paths. 5xx causes are
 * logged (with stacks) here and never sent.
 */
export function createErrorRenderer(deps: ServerDeps): (error: unknown, c: Context) => Response {
  const scrub = createScrubber(deps);
  return (raw, c) => {
    const error = fromUnknown(raw);
    // Expected states (busy, stopping, sealed) are refusals, not failures worth a stack trace.
    const expected =
      error.code === "queue_full" ||
      error.code === "shutting_down" ||
      error.code === "vault_sealed" ||
      error.code === "insufficient_memory";
    // req_id ties the line to the answer's x-request-id (the admin log page shows both).
    const where = { path: c.req.path, req_id: (c.var as { requestId?: string }).requestId };
    if (error.status >= 500 && !expected) {
      deps.logger.error({ err: error.cause ?? error, code: error.code, ...where }, "request failed");
    } else if (DENIALS.has(error.code)) {
      // Wrong passwords, missing rights, throttled callers: what an admin watching the log (the
      // admin console's Logs page) needs to see at the default level, unlike a 404 or a bad body.
      deps.logger.warn({ code: error.code, ...where }, "request denied");
    } else {
      deps.logger.debug({ code: error.code, message: error.message, ...where }, "request refused");
    }
    const safe = new AppError(error.code, scrub(error.message), {
      status: error.status,
      retryAfter: error.retryAfter,
      param: error.param,
    });
    // Ollama's `{"error": "…"}` has no room for a code: the header carries it for every family,
    // so a client of any route can tell a sealed vault from a full queue without reading prose.
    const headers: Record<string, string> = { "X-Aixcl-Error-Code": safe.code };
    if (safe.retryAfter !== undefined)
      headers["Retry-After"] = String(Math.max(1, Math.ceil(safe.retryAfter)));
    const wire = isOpenAIPath(c.req.path)
      ? toOpenAIError(safe)
      : isWebApiPath(c.req.path)
        ? toWebError(safe)
        : toOllamaError(safe);
    return c.json(wire.body as object, wire.status as ContentfulStatusCode, headers);
  };
}
