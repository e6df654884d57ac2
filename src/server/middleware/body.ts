import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";
import { scanJson } from "./json-scan.js";

export interface BodyLimits {
  /** Most bytes a JSON body may have (config `server.body_limit`). */
  maxBytes: number;
  /** Deepest nesting of arrays/objects (config `server.json_depth`). */
  maxDepth: number;
  /** Longest wait for the body's next bytes, ms (config `server.body_timeout`). */
  idleMs: number;
}

const PARSED = new WeakMap<Request, Promise<unknown>>();
// Used when a route runs without bodyLimit() in front (tests calling app.request()).
const FALLBACK: BodyLimits = { maxBytes: 32 * 1024 * 1024, maxDepth: 64, idleMs: 30_000 };

function tooLarge(limit: number): AppError {
  return new AppError("body_too_large", `request body too large (limit ${limit} bytes)`);
}

/**
 * Rejects bodies whose declared Content-Length is over the limit before reading anything, and
 * hands the limits to readJsonBody, which enforces them again while streaming (a chunked body
 * declares no length, and a declared one may lie). Paths in `exempt` (blob uploads) skip both.
 */
export function bodyLimit(limits: BodyLimits, exempt: (path: string) => boolean): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!exempt(c.req.path)) {
      c.set("bodyLimits", limits);
      const declared = c.req.header("content-length");
      if (declared !== undefined && Number(declared) > limits.maxBytes) throw tooLarge(limits.maxBytes);
    }
    await next();
  };
}

/**
 * A request body that fails with `request_timeout` (408) when `idleMs` pass without a byte, and
 * with `client_closed` when the client goes away mid-body. Node's whole-request timer is off (a
 * model upload may take hours), so without this a client that declares a body and then sends
 * nothing would hold its socket and its request forever.
 */
export function guardBody(body: ReadableStream<Uint8Array>, idleMs: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: NodeJS.Timeout | undefined;
      const idle = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new AppError(
                "request_timeout",
                `request body stopped arriving: no bytes for ${idleMs / 1000} s (server.body_timeout)`,
              ),
            ),
          idleMs,
        );
      });
      try {
        const { done, value } = await Promise.race([reader.read(), idle]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        void reader.cancel().catch(() => undefined);
        // The only other way reading a request's body fails: its connection ended.
        throw error instanceof AppError
          ? error
          : new AppError("client_closed", "the client closed the connection while sending the body");
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
}

/** Reads a stream into one buffer, failing as soon as it passes `maxBytes`. */
async function readLimited(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, total);
}

/**
 * Whether a JSON text nests deeper than `max`, scanned without parsing (so a 100k-deep `[[[[...`
 * never reaches JSON.parse's recursion).
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  return scanJson(text, max).tooDeep;
}

async function parse(c: Context, limits: BodyLimits): Promise<unknown> {
  const body = c.req.raw.body;
  const bytes =
    body === null ? Buffer.alloc(0) : await readLimited(guardBody(body, limits.idleMs), limits.maxBytes);
  const text = bytes.toString("utf8");
  if (text.trim() === "") throw new AppError("invalid_request", "missing request body");
  const scan = scanJson(text, limits.maxDepth);
  if (scan.tooDeep) {
    throw new AppError("json_too_deep", `request body nested too deeply (limit ${limits.maxDepth})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the input; say where the problem is, not what it was.
    throw new AppError("invalid_request", "invalid request: body is not valid JSON");
  }
  if (scan.duplicateKey !== undefined) {
    // Checked after JSON.parse so that text which is not JSON at all is named as such.
    throw new AppError(
      "invalid_request",
      `invalid request: key ${JSON.stringify(scan.duplicateKey.slice(0, 64))} appears twice in one object`,
    );
  }
  return value;
}

/**
 * Parses the request body as JSON whatever its Content-Type: Ollama's documented
 * `curl -d '{...}'` sends `application/x-www-form-urlencoded`. Enforces the size limit while
 * streaming and the nesting limit before parsing, and refuses a key repeated within one object
 * (see json-scan.ts). Calling it twice returns the same value.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- routes of both families call it with their own Env
export function readJsonBody(c: Context<any>): Promise<unknown> {
  const cached = PARSED.get(c.req.raw);
  if (cached) return cached;
  const limits = (c as Context<AppEnv>).get("bodyLimits") ?? FALLBACK;
  const job = parse(c, limits);
  PARSED.set(c.req.raw, job);
  return job;
}
