/**
 * The HTTP client core of every typed client the CLI uses (Ollama API, admin and vault routes):
 * one request function that sends JSON or a stream with the bearer token, and turns every
 * failure into an AppError — the server's own message with a code from the status (and its
 * Retry-After), ServerUnreachableError when nothing listens at the address (so the CLI can fall
 * back to the files or say "start the server"), client_closed when the caller aborted.
 */
import { AppError, type ErrorCode } from "../errors.js";

/** Thrown when nothing listens at the server address (code `server_unreachable`). */
export class ServerUnreachableError extends AppError {
  constructor(baseUrl: string, cause: unknown) {
    super("server_unreachable", `no aixcl server is running at ${baseUrl} (start one with \`aixcl serve\`)`, {
      cause,
    });
    this.name = "ServerUnreachableError";
  }
}

/** The AppError code for an HTTP status the server answered with. */
export function codeForStatus(status: number, notFound: ErrorCode = "not_found"): ErrorCode {
  switch (status) {
    case 400:
      return "invalid_request";
    case 401:
      return "unauthorized";
    case 403:
      return "forbidden";
    case 404:
      return notFound;
    case 409:
      return "conflict";
    case 413:
      return "body_too_large";
    case 429:
      return "rate_limited";
    case 499:
      return "client_closed";
    case 502:
      return "registry_error";
    case 503:
      return "queue_full";
    case 507:
      return "insufficient_storage";
    default:
      return "internal";
  }
}

const UNREACHABLE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EHOSTUNREACH", "ECONNRESET", "EAI_AGAIN"]);

/** fetch fails with TypeError("fetch failed") whose cause (or its AggregateError parts) has the code. */
function isUnreachable(error: unknown): boolean {
  const cause = (error as { cause?: unknown } | undefined)?.cause as
    { code?: unknown; errors?: { code?: unknown }[] } | undefined;
  if (!cause) return false;
  if (typeof cause.code === "string" && UNREACHABLE_CODES.has(cause.code)) return true;
  return (cause.errors ?? []).some((e) => typeof e.code === "string" && UNREACHABLE_CODES.has(e.code));
}

async function errorMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: unknown };
    // Ollama answers {"error":"..."}; the /v1 family {"error":{"message":"..."}}.
    if (typeof body.error === "string") return body.error;
    const nested = (body.error as { message?: unknown } | undefined)?.message;
    if (typeof nested === "string") return nested;
  } catch {
    // Not JSON: fall through to the raw text.
  }
  return text.trim() || `HTTP ${response.status} ${response.statusText}`;
}

export interface SendOptions {
  /** Server root, named in connection errors. */
  baseUrl: string;
  method: string;
  /** A JSON body (serialized here). */
  json?: unknown;
  /** A streamed body instead (a file upload). */
  stream?: { body: ReadableStream<Uint8Array>; contentType: string };
  /** Sent as `Authorization: Bearer` when set. Secret. */
  token?: string;
  signal?: AbortSignal;
  /** The error code for a failed status. */
  codeFor: (status: number) => ErrorCode;
  /** Statuses that are answers, not errors (HEAD on a blob: 404 = absent). */
  accept?: readonly number[];
}

/** Sends one request; resolves with the response of a success (or accepted) status. */
export async function send(url: string, options: SendOptions): Promise<Response> {
  const headers: Record<string, string> = {};
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  let body: RequestInit["body"];
  if (options.stream) {
    headers["Content-Type"] = options.stream.contentType;
    body = options.stream.body;
  } else if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.json);
  }
  let response: Response;
  try {
    response = await fetch(url, {
      method: options.method,
      headers,
      body,
      signal: options.signal,
      // Required by fetch for a streamed request body.
      ...(options.stream ? { duplex: "half" } : {}),
    });
  } catch (error) {
    if (isUnreachable(error)) throw new ServerUnreachableError(options.baseUrl, error);
    if (options.signal?.aborted) throw new AppError("client_closed", "request cancelled", { cause: error });
    throw new AppError("internal", `cannot reach ${options.baseUrl}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!response.ok && !(options.accept ?? []).includes(response.status)) {
    const retryAfter = Number(response.headers.get("retry-after") ?? NaN);
    throw new AppError(options.codeFor(response.status), await errorMessage(response), {
      status: response.status,
      ...(Number.isFinite(retryAfter) ? { retryAfter } : {}),
    });
  }
  return response;
}
