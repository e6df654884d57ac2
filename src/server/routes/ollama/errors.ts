import type { AppError } from "../../../errors.js";
import type { ErrorResponseWire } from "../../../api/ollama/responses.js";

export interface WireError<T> {
  status: number;
  body: T;
  headers: Record<string, string>;
}

/**
 * Ollama's error shape: `{"error": "<message>"}` with the code's status, plus `Retry-After`
 * when the error says when to retry (queue full). Internal errors keep their generic message:
 * the cause (with paths and stacks) goes to the log only.
 */
export function toOllamaError(error: AppError): WireError<ErrorResponseWire> {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined)
    headers["Retry-After"] = String(Math.max(1, Math.ceil(error.retryAfter)));
  return { status: error.status, body: { error: error.message }, headers };
}
