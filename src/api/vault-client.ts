/**
 * The wire of `/api/vault/*` and the typed client `aixcl vault` uses against a running server.
 * No route ever answers with a secret value: status counts entries, rotate reports what changed.
 */
import { z } from "zod";
import { createJsonRequest } from "./admin-request.js";
import { codeForStatus } from "./http.js";

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
  const { json } = createJsonRequest({
    baseUrl: options.baseUrl,
    prefix: "/api/vault",
    ...(options.token !== undefined ? { token: options.token } : {}),
    // The vault routes answer 503 only while sealed (or while the server shuts down).
    codeFor: (status) => (status === 503 ? "vault_sealed" : codeForStatus(status)),
  });

  return {
    status: () => json<VaultStatusWire>("GET", "/status"),
    unseal: (passphrase) =>
      json<VaultStatusWire>("POST", "/unseal", passphrase === undefined ? {} : { passphrase }),
    seal: () => json<VaultStatusWire>("POST", "/seal", {}),
    rotate: () => json<RotationWire>("POST", "/rotate", {}),
  };
}
