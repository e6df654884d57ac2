/** The admin console's routes and the user's own API keys (docs/admin-console.md). */
import type {
  ApiKey,
  AuditPage,
  CreatedKey,
  Health,
  MetricsRange,
  MetricsSeries,
  Role,
  User,
} from "./admin-types";
import { request, requestJson } from "./client";
import { ApiError } from "./errors";

const ADMIN = "/api/admin";
const user = (name: string) => `${ADMIN}/users/${encodeURIComponent(name)}`;

export const listUsers = async () => (await requestJson<{ users: User[] }>("GET", `${ADMIN}/users`)).users;
export const createUser = (username: string, password: string, role: Role) =>
  requestJson<{ user: User }>("POST", `${ADMIN}/users`, { username, password, role });
export const setRole = (name: string, role: Role) =>
  requestJson<unknown>("PUT", `${user(name)}/role`, { role });
export const setPassword = (name: string, password: string) =>
  request("PUT", `${user(name)}/password`, { password });
export const activateUser = (name: string) => requestJson<unknown>("POST", `${user(name)}/activate`);
export const disableUser = (name: string) => requestJson<unknown>("POST", `${user(name)}/disable`);
export const deleteUser = (name: string) => request("DELETE", user(name));
export const getSignup = async () =>
  (await requestJson<{ enabled: boolean }>("GET", `${ADMIN}/settings/signup`)).enabled;
export const setSignup = (enabled: boolean) =>
  requestJson<unknown>("PUT", `${ADMIN}/settings/signup`, { enabled });

export const listAllKeys = async () => (await requestJson<{ keys: ApiKey[] }>("GET", `${ADMIN}/keys`)).keys;
export const revokeAnyKey = (id: string) =>
  requestJson<ApiKey>("DELETE", `${ADMIN}/keys/${encodeURIComponent(id)}`);

export const listOwnKeys = async () => (await requestJson<{ keys: ApiKey[] }>("GET", "/api/auth/keys")).keys;
export const createOwnKey = (input: { name: string; scopes: string[]; expires_at?: string }) =>
  requestJson<CreatedKey>("POST", "/api/auth/keys", input);
export const revokeOwnKey = (id: string) =>
  requestJson<ApiKey>("DELETE", `/api/auth/keys/${encodeURIComponent(id)}`);

export function listAudit(query: { before?: number | null; action?: string; limit?: number }) {
  const params = new URLSearchParams({ limit: String(query.limit ?? 50) });
  if (query.before != null) params.set("before", String(query.before));
  if (query.action) params.set("action", query.action);
  return requestJson<AuditPage>("GET", `${ADMIN}/audit?${params.toString()}`);
}

/** The vault's own status: open to anyone, because while it is sealed no session can be checked. */
export interface VaultState {
  initialized: boolean;
  sealed: boolean;
  mode: "keyfile" | "passphrase" | null;
}

/**
 * The health report, or, while the vault is sealed (every session check answers 503
 * `vault_sealed` then), the vault's own status: the Status page must still offer the unseal form.
 */
export async function getHealth(): Promise<{ health: Health } | { sealed: VaultState }> {
  try {
    return { health: await requestJson<Health>("GET", `${ADMIN}/health`) };
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== "vault_sealed") throw error;
    return { sealed: await requestJson<VaultState>("GET", "/api/vault/status") };
  }
}
export const unsealVault = (passphrase: string) =>
  requestJson<unknown>("POST", "/api/vault/unseal", { passphrase });

export function getMetrics(range: MetricsRange, model: string | null, signal?: AbortSignal) {
  const params = new URLSearchParams({ range });
  if (model !== null) params.set("model", model);
  return requestJson<MetricsSeries>("GET", `${ADMIN}/metrics/series?${params.toString()}`, undefined, signal);
}

/** The live log tail: an open NDJSON response (see readStream). */
export function tailLogs(filter: { level: string; q: string }, signal: AbortSignal) {
  const params = new URLSearchParams({ level: filter.level, follow: "1" });
  if (filter.q) params.set("q", filter.q);
  return request("GET", `${ADMIN}/logs?${params.toString()}`, undefined, signal);
}
