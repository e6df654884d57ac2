/**
 * Errors from the server as the app shows them. The JSON routes answer
 * `{ error: { code, message } }`; the auth routes answer Ollama's `{ error: "…" }`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds from `Retry-After`, when the server sent one (429/503). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

function codeForStatus(status: number): string {
  if (status === 401) return "unauthorized";
  if (status === 404) return "not_found";
  if (status === 429) return "rate_limited";
  if (status === 503) return "unavailable";
  return "http_error";
}

/** Reads an error response into an ApiError, whatever shape (or no JSON at all) it has. */
export async function errorFromResponse(response: Response): Promise<ApiError> {
  const header = response.headers.get("retry-after");
  const retryAfter = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  // The server names every error's code in this header, also where the body (Ollama's shape,
  // on /api/admin) has only a message.
  let code = response.headers.get("x-aixcl-error-code") ?? codeForStatus(response.status);
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: unknown };
    if (typeof body.error === "string") message = body.error;
    else if (body.error && typeof body.error === "object") {
      const error = body.error as { code?: unknown; message?: unknown };
      if (typeof error.code === "string") code = error.code;
      if (typeof error.message === "string") message = error.message;
    }
  } catch {
    // Not JSON (a proxy's page, a dropped connection): the status line is all there is.
  }
  return new ApiError(response.status, code, message, retryAfter);
}

/** A sentence a person can act on, for the codes the chat meets most. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) {
    return error instanceof Error && error.name === "TypeError"
      ? "Cannot reach the aixcl server. Is `aixcl serve` running?"
      : "Something went wrong. Please try again.";
  }
  switch (error.code) {
    case "vault_sealed":
      return "The vault is sealed. An administrator must run `aixcl vault unseal` before chats can continue.";
    case "model_not_found":
      return `${error.message}. Install the model with \`aixcl models add <name>\` or pick another one.`;
    case "queue_full":
    case "rate_limited":
    case "shutting_down":
    case "database_error":
    case "unavailable":
      return error.retryAfter !== undefined
        ? `The server is busy (${error.message}). Try again in ${error.retryAfter} s.`
        : `The server is busy (${error.message}). Try again in a moment.`;
    case "unauthorized":
      return "Your session has ended. Please sign in again.";
    default:
      return error.message;
  }
}
