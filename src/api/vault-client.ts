/**
 * The wire of `/api/vault/*` and the typed client `aixcl vault` uses against a running server.
 * No route ever answers with a secret value: status counts entries, rotate reports what changed.
 */
import { z } from "zod";
import { AppError } from "../errors.js";
import { codeForStatus, errorMessage, isUnreachable, ServerUnreachableError } from "./client.js";

export interface VaultStatusWire {
  initialized: boolean;
  sealed: boolean;
  mode: "keyfile" | "passphrase" | null;
  entries: number;
}

/** Longest passphrase a request may carry (argon2 would hash anything; this bounds the body). */
const MAX_PASSPHRASE = 1024;

/** `passphrase` is absent for a key file vault (the server reads its key file again). */
export const unsealRequestSchema = z.object({ passphrase: z.string().max(MAX_PASSPHRASE).optional() });

export interface RotationWire {
  /** The admin account whose password changed; null when it no longer exists. */
  admin_user: string | null;
  sessions_ended: number;
  database_password: boolean;
}

export interface VaultClientOptions {
  /** Server root, e.g. `http://127.0.0.1:11434`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer` (the local token or an admin key). Secret. Needed by seal and rotate. */
  token?: string;
}

export interface VaultClient {
  status(): Promise<VaultStatusWire>;
  unseal(passphrase?: string): Promise<VaultStatusWire>;
  seal(): Promise<VaultStatusWire>;
  rotate(): Promise<RotationWire>;
}

export function createVaultClient(options: VaultClientOptions): VaultClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");

  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const headers: Record<string, string> = {};
    if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let response: Response;
    try {
      response = await fetch(`${baseUrl}/api/vault${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      if (isUnreachable(error)) throw new ServerUnreachableError(baseUrl, error);
      throw new AppError("internal", `cannot reach ${baseUrl}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (!response.ok) {
      // The vault routes answer 503 only while sealed (or while the server shuts down).
      const code = response.status === 503 ? "vault_sealed" : codeForStatus(response.status);
      const retryAfter = Number(response.headers.get("retry-after") ?? NaN);
      throw new AppError(code, await errorMessage(response), {
        status: response.status,
        ...(Number.isFinite(retryAfter) ? { retryAfter } : {}),
      });
    }
    return (await response.json()) as T;
  };

  return {
    status: () => call<VaultStatusWire>("GET", "/status"),
    unseal: (passphrase) =>
      call<VaultStatusWire>("POST", "/unseal", passphrase === undefined ? {} : { passphrase }),
    seal: () => call<VaultStatusWire>("POST", "/seal", {}),
    rotate: () => call<RotationWire>("POST", "/rotate", {}),
  };
}
