import { errorFromResponse } from "./errors";

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();
const forbiddenListeners = new Set<Listener>();

/** Called whenever a request answers 401: the app goes back to the login page. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

/**
 * Called whenever an admin route (`/api/admin/*`) answers 403: the account is no longer an
 * admin, so the app drops the admin navigation (docs/admin-console.md, Access).
 */
export function onAdminForbidden(listener: Listener): () => void {
  forbiddenListeners.add(listener);
  return () => forbiddenListeners.delete(listener);
}

/**
 * One request to the server (same origin, the session cookie rides along). Resolves with the
 * Response when it is 2xx; throws ApiError otherwise.
 */
export async function request(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<Response> {
  const init: RequestInit = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { Accept: "application/json", "Content-Type": "application/json" };
  }
  if (signal) init.signal = signal;
  const response = await fetch(path, init);
  if (!response.ok) {
    const error = await errorFromResponse(response);
    // A refused login or unseal is a wrong password, not an ended session.
    if (response.status === 401 && !path.startsWith("/api/auth/login") && !path.startsWith("/api/vault/")) {
      for (const listener of unauthorizedListeners) listener();
    }
    if (response.status === 403 && path.startsWith("/api/admin/")) {
      for (const listener of forbiddenListeners) listener();
    }
    throw error;
  }
  return response;
}

export async function requestJson<T>(
  method: string,
  path: string,
  body?: unknown,
  signal?: AbortSignal,
): Promise<T> {
  const response = await request(method, path, body, signal);
  return (await response.json()) as T;
}
