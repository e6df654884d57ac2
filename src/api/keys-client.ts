/**
 * The API key wire (`/api/admin/keys`, `/api/auth/keys`) and the typed client `aixcl keys` uses
 * against a running server with the local admin token. Failures are AppErrors as in
 * src/api/client.ts: the server's message and a code from the status, or ServerUnreachableError.
 */
import { z } from "zod";
import { createJsonRequest, type AdminClientOptions } from "./admin-request.js";

/** POST body that creates a key. */
export const createKeyRequestSchema = z.strictObject({
  name: z.string(),
  /** The owner's username (admin API only). Default: the caller, or the first admin for the local token. */
  user: z.string().optional(),
  /** `inference`, `models:write`, `admin`. Default `["inference"]`. */
  scopes: z.array(z.string()).optional(),
  /** RFC 3339 time when the key stops working. Default: never. */
  expires_at: z.iso.datetime({ offset: true }).optional(),
});
export type CreateKeyRequestWire = z.infer<typeof createKeyRequestSchema>;

/** A key as the API lists it: never the key, never its hash. */
export interface ApiKeyWire {
  id: string;
  name: string;
  /** The visible part of the key: `aixcl_<prefix>_…`. */
  prefix: string;
  /** The owner's username. */
  user: string;
  user_id: string;
  scopes: string[];
  status: "active" | "revoked" | "expired";
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** The creation response: the only time the full key is sent. */
export interface CreatedKeyWire extends ApiKeyWire {
  key: string;
}

export interface KeyListWire {
  keys: ApiKeyWire[];
}

/** The fields of a stored key the wire shows (structurally: src/store/api-keys.ts ApiKeyRecord). */
export interface KeyRecordLike {
  id: string;
  name: string;
  prefix: string;
  username: string;
  userId: string;
  scopes: readonly string[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const iso = (date: Date | null): string | null => (date === null ? null : date.toISOString());

export function toKeyWire(record: KeyRecordLike, now = Date.now()): ApiKeyWire {
  const status =
    record.revokedAt !== null
      ? "revoked"
      : record.expiresAt !== null && record.expiresAt.getTime() <= now
        ? "expired"
        : "active";
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    user: record.username,
    user_id: record.userId,
    scopes: [...record.scopes],
    status,
    created_at: record.createdAt.toISOString(),
    expires_at: iso(record.expiresAt),
    last_used_at: iso(record.lastUsedAt),
    revoked_at: iso(record.revokedAt),
  };
}

export type KeysClientOptions = AdminClientOptions;

export interface KeysClient {
  create(request: CreateKeyRequestWire): Promise<CreatedKeyWire>;
  /** Every key, or only `user`'s. */
  list(user?: string): Promise<ApiKeyWire[]>;
  /** Revokes the key with this id or prefix and returns it. */
  revoke(idOrPrefix: string): Promise<ApiKeyWire>;
}

export function createKeysClient(options: KeysClientOptions): KeysClient {
  const request = createJsonRequest({
    baseUrl: options.baseUrl,
    prefix: "/api/admin/keys",
    token: options.token,
  });
  return {
    create: (body) => request.json<CreatedKeyWire>("POST", "", body),
    async list(user) {
      const query = user === undefined ? "" : `?user=${encodeURIComponent(user)}`;
      return (await request.json<KeyListWire>("GET", query)).keys;
    },
    revoke: (idOrPrefix) => request.json<ApiKeyWire>("DELETE", `/${encodeURIComponent(idOrPrefix)}`),
  };
}
