import type { WebErrorWire } from "../../../api/chat.js";
import type { AppError } from "../../../errors.js";
import type { WireError } from "../ollama/errors.js";

/** The prefix of the web app's JSON routes (docs/web-app.md). */
export const WEB_API_PREFIX = "/api/aixcl";

/** Whether a path belongs to the web app's JSON routes (their errors carry a code). */
export function isWebApiPath(path: string): boolean {
  return path === WEB_API_PREFIX || path.startsWith(`${WEB_API_PREFIX}/`);
}

/**
 * The web routes' error shape: `{"error": {"code", "message"}}` with the code's status, so the
 * app can act on the code (a 503 `vault_sealed`, a 429) without reading the message.
 */
export function toWebError(error: AppError): WireError<WebErrorWire> {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined)
    headers["Retry-After"] = String(Math.max(1, Math.ceil(error.retryAfter)));
  return { status: error.status, body: { error: { code: error.code, message: error.message } }, headers };
}
