import type { AppError, ErrorCode } from "../../../errors.js";

/** OpenAI's error `type` values (what SDKs switch on besides the HTTP status). */
type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error";

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; param: string | null; code: string | null };
}

function errorType(code: ErrorCode): OpenAIErrorType {
  switch (code) {
    case "invalid_request":
    case "invalid_model_name":
    case "invalid_digest":
    case "invalid_gguf":
    case "digest_mismatch":
    case "unsupported":
    case "json_too_deep":
    case "context_length_exceeded":
    case "body_too_large":
    case "request_timeout":
    case "conflict":
    case "client_closed":
      return "invalid_request_error";
    case "unauthorized":
      return "authentication_error";
    case "forbidden_host":
    case "cross_site":
    case "forbidden":
    case "account_pending":
      return "permission_error";
    case "not_found":
    case "model_not_found":
    case "blob_not_found":
      return "not_found_error";
    case "rate_limited":
      return "rate_limit_error";
    case "internal":
    case "runner_crashed":
    case "model_load_failed":
    case "registry_error":
    case "insufficient_storage":
    case "insufficient_memory":
    case "server_unreachable":
    case "queue_full":
    case "shutting_down":
    case "config_invalid":
    case "vault_sealed":
    case "integrity_check_failed":
    case "schema_mismatch":
    case "database_error":
      return "server_error";
  }
}

/** Where OpenAI has a well-known `code` for the same condition, clients look for that spelling. */
const OPENAI_CODES: Partial<Record<ErrorCode, string>> = {
  unauthorized: "invalid_api_key",
  rate_limited: "rate_limit_exceeded",
};

/**
 * Maps an AppError to OpenAI's error shape `{"error":{"message","type","param","code"}}`.
 * `code` is our stable code (or OpenAI's spelling of it, e.g. `model_not_found`), so clients can
 * branch on it; the `Retry-After` header for `retryAfter` is the caller's to set.
 */
export function toOpenAIError(error: AppError): { status: number; body: OpenAIErrorBody } {
  return {
    status: error.status,
    body: {
      error: {
        message: error.message,
        type: errorType(error.code),
        param: error.param ?? null,
        code: OPENAI_CODES[error.code] ?? error.code,
      },
    },
  };
}
