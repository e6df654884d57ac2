/**
 * Typed application errors with stable codes. Every layer throws `AppError`; each API family
 * has one mapper (server/routes/<family>/errors.ts) that turns it into that family's wire shape.
 * Never match on `message`: match on `code`.
 */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_model_name: 400,
  invalid_digest: 400,
  invalid_gguf: 400,
  digest_mismatch: 400,
  unsupported: 400,
  json_too_deep: 400,
  /** A prompt that cannot fit the model's context (one message too long, or `truncate: false`). */
  context_length_exceeded: 400,
  unauthorized: 401,
  forbidden_host: 403,
  cross_site: 403,
  forbidden: 403,
  /** A signed-up account an admin has not approved yet. */
  account_pending: 403,
  not_found: 404,
  model_not_found: 404,
  blob_not_found: 404,
  conflict: 409,
  /** A request body that stopped arriving (`server.body_timeout`). */
  request_timeout: 408,
  body_too_large: 413,
  rate_limited: 429,
  client_closed: 499,
  internal: 500,
  runner_crashed: 500,
  model_load_failed: 500,
  /** An upstream model registry (or its CDN) failed or answered nonsense during a pull. */
  registry_error: 502,
  /** The disk holding the model store is full (a pull keeps its partial file for a resume). */
  insufficient_storage: 507,
  /**
   * A model needs more memory than engine.max_memory allows even with every other model unloaded.
   * 507, not 503: retrying will not help until the limit or the request (num_ctx) changes.
   */
  insufficient_memory: 507,
  queue_full: 503,
  shutting_down: 503,
  /** The CLI found no aixcl server listening at the configured address. */
  server_unreachable: 503,
  config_invalid: 500,
  /** The vault is sealed: anything needing a secret waits for `aixcl vault unseal`. */
  vault_sealed: 503,
  /** A vault entry failed its AES-GCM authentication (tampered or corrupted). */
  integrity_check_failed: 500,
  /** The database schema is newer than this aixcl (or otherwise not migratable). */
  schema_mismatch: 500,
  /** The database could not be reached or failed a query for a reason not caused by the request. */
  database_error: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface AppErrorOptions {
  /** HTTP status; defaults to the code's status in ERROR_STATUS. */
  status?: number;
  cause?: unknown;
  /** Seconds a client should wait before retrying (sent as `Retry-After`). */
  retryAfter?: number;
  /** The request field at fault, when there is one (OpenAI's `param`). */
  param?: string;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfter: number | undefined;
  readonly param: string | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "AppError";
    this.code = code;
    this.status = options.status ?? ERROR_STATUS[code];
    this.retryAfter = options.retryAfter;
    this.param = options.param;
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/** Wraps anything thrown into an AppError without leaking stack traces or paths to clients. */
export function toAppError(value: unknown): AppError {
  if (value instanceof AppError) return value;
  return new AppError("internal", "internal server error", { cause: value });
}
