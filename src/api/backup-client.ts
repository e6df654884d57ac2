/**
 * The client of `GET /api/admin/backup`: a running server's backup of its own database and vault,
 * as the archive's bytes (`aixcl db backup` saves and verifies them). Failures are AppErrors as in
 * src/api/client.ts: the server's message with a code from the status, or ServerUnreachableError
 * when nothing listens at the address.
 */
import { AppError } from "../errors.js";
import { codeForStatus, errorMessage, isUnreachable, ServerUnreachableError } from "./client.js";

/**
 * Asks the server at `baseUrl` (an admin `token`, e.g. the local one: secret, sent as a bearer) for
 * a backup. Resolves with the archive's bytes (read them once) once the server has written it
 * and starts sending it.
 */
export async function downloadBackup(options: {
  baseUrl: string;
  token: string;
}): Promise<AsyncIterable<Uint8Array>> {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  let response: Response;
  try {
    response = await fetch(`${baseUrl}/api/admin/backup`, {
      headers: { Authorization: `Bearer ${options.token}` },
    });
  } catch (error) {
    if (isUnreachable(error)) throw new ServerUnreachableError(baseUrl, error);
    throw new AppError("internal", `cannot reach ${baseUrl}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok || response.body === null) {
    throw new AppError(codeForStatus(response.status), await errorMessage(response), {
      status: response.status,
    });
  }
  return response.body;
}
