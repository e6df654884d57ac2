/**
 * HTTP helpers for tests of the platform's identity routes: logging in for a session cookie,
 * asking who a cookie is, JSON requests with a bearer token or a cookie, and the local admin
 * token a running server wrote (what `aixcl users|keys|vault` send).
 */
import { readLocalToken } from "../../src/auth/local-token.js";
import { localTokenPath } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";

/** The session cookie's name (`__Host-` on loopback and TLS). */
export const SESSION_COOKIE = "__Host-aixcl_session";

/** `name=value` of the session cookie an answer sets, when it sets one. */
export function sessionCookie(headers: Headers): string | undefined {
  const line = headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  return line?.split(";")[0];
}

/** Posts a login; the answer's status and the session cookie it set (body read and dropped). */
export async function postLogin(
  url: string,
  username: string,
  password: string,
): Promise<{ status: number; cookie?: string }> {
  const response = await jsonFetch(url, "POST", "/api/auth/login", { username, password });
  await response.arrayBuffer();
  const cookie = sessionCookie(response.headers);
  return { status: response.status, ...(cookie !== undefined ? { cookie } : {}) };
}

/** Logs in and returns the session cookie; throws unless the login succeeded. */
export async function loginCookie(url: string, username: string, password: string): Promise<string> {
  const { status, cookie } = await postLogin(url, username, password);
  if (status !== 200 || cookie === undefined) throw new Error(`login as ${username} answered ${status}`);
  return cookie;
}

/** 200 when `/api/auth/me` names a user for this cookie, else 401. */
export async function meStatus(url: string, cookie: string): Promise<number> {
  const response = await fetch(`${url}/api/auth/me`, { headers: { Cookie: cookie } });
  const body = (await response.json()) as { username?: string | null };
  return response.status === 200 && typeof body.username === "string" ? 200 : 401;
}

/** `Authorization: Bearer` for a token or an API key. */
export const bearer = (token: string): Record<string, string> => ({ Authorization: `Bearer ${token}` });

/** A request with `Content-Type: application/json`, the body as JSON when given, and `headers`. */
export function jsonFetch(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${url}${path}`, {
    method,
    headers: { "Content-Type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** The local admin token the server of `config`'s home wrote; throws when there is none. */
export async function localAdminToken(config: Readonly<Config>): Promise<string> {
  const token = await readLocalToken(localTokenPath(config));
  if (token === undefined) throw new Error("no local token written");
  return token;
}
