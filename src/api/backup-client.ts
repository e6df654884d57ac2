/**
 * The client of `GET /api/admin/backup`: a running server's backup of its own database and vault,
 * as the archive's bytes (`aixcl db backup` saves and verifies them). Failures are AppErrors as in
 * src/api/client.ts: the server's message with a code from the status, or ServerUnreachableError
 * when nothing listens at the address.
 */
import { createJsonRequest } from "./admin-request.js";

/**
 * Asks the server at `baseUrl` (an admin `token`, e.g. the local one: secret, sent as a bearer) for
 * a backup. Resolves with the archive's bytes (read them once) once the server has written it
 * and starts sending it.
 */
export function downloadBackup(options: {
  baseUrl: string;
  token: string;
}): Promise<AsyncIterable<Uint8Array>> {
  return createJsonRequest({ ...options, prefix: "/api/admin" }).bytes("GET", "/backup");
}
