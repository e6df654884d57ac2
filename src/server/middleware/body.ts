import type { Context, MiddlewareHandler } from "hono";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";

export interface BodyLimits {
  /** Most bytes a JSON body may have (config `server.body_limit`). */
  maxBytes: number;
  /** Deepest nesting of arrays/objects (config `server.json_depth`). */
  maxDepth: number;
}

const PARSED = new WeakMap<Request, Promise<unknown>>();
// Used when a route runs without bodyLimit() in front (tests calling app.request()).
const FALLBACK: BodyLimits = { maxBytes: 32 * 1024 * 1024, maxDepth: 64 };

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
 * Nesting depth of a JSON text, scanned without parsing (so a 100k-deep `[[[[...` never reaches
 * JSON.parse's recursion). Stops as soon as `max` is passed.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped char
      else if (ch === 0x22) inString = false;
      continue;
    }
    if (ch === 0x22) inString = true;
    else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) depth--;
  }
  return false;
}

async function parse(c: Context, limits: BodyLimits): Promise<unknown> {
  const body = c.req.raw.body;
  const bytes = body === null ? Buffer.alloc(0) : await readLimited(body, limits.maxBytes);
  const text = bytes.toString("utf8");
  if (text.trim() === "") throw new AppError("invalid_request", "missing request body");
  if (jsonDepthExceeds(text, limits.maxDepth)) {
    throw new AppError("json_too_deep", `request body nested too deeply (limit ${limits.maxDepth})`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // The parser's message quotes the input; say where the problem is, not what it was.
    throw new AppError("invalid_request", "invalid request: body is not valid JSON");
  }
}

/**
 * Parses the request body as JSON whatever its Content-Type: Ollama's documented
 * `curl -d '{...}'` sends `application/x-www-form-urlencoded`. Enforces the size limit while
 * streaming and the nesting limit before parsing. Calling it twice returns the same value.
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
