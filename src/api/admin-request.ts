/**
 * JSON requests to the platform routes (`/api/admin/*`, `/api/vault/*`) for the typed clients the
 * CLI uses, over the client core in src/api/http.ts (failures are AppErrors).
 */
import { AppError, type ErrorCode } from "../errors.js";
import { codeForStatus, send } from "./http.js";

export interface JsonRequestOptions {
  /** Server root, e.g. `http://127.0.0.1:11434` (a trailing slash is dropped). */
  baseUrl: string;
  /** Prepended to every request's path, e.g. `/api/vault`. */
  prefix?: string;
  /** Sent as `Authorization: Bearer` when set (the local token or an admin key). Secret. */
  token?: string;
  /** The error code for a failed status, when a route family gives one its own meaning. */
  codeFor?: (status: number) => ErrorCode;
}

/** What every admin client (users, keys, audit) is created with. */
export interface AdminClientOptions {
  /** Server root, e.g. `http://127.0.0.1:11434`. */
  baseUrl: string;
  /** Sent as `Authorization: Bearer` (the local admin token, or an admin-scoped key). Secret. */
  token: string;
}

/** Plain functions (no `this`), so a client may destructure them. */
export interface JsonRequest {
  /** The parsed JSON answer. */
  json: <T>(method: string, path: string, body?: unknown) => Promise<T>;
  /** A request whose answer body is read and dropped. */
  none: (method: string, path: string, body?: unknown) => Promise<void>;
  /** The answer's body as bytes, for a route that sends a file (read it once). */
  bytes: (method: string, path: string) => Promise<AsyncIterable<Uint8Array>>;
}

export function createJsonRequest(options: JsonRequestOptions): JsonRequest {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const root = `${baseUrl}${options.prefix ?? ""}`;
  const codeFor = options.codeFor ?? ((status: number) => codeForStatus(status));

  const call = (method: string, path: string, body?: unknown): Promise<Response> =>
    send(`${root}${path}`, {
      baseUrl,
      method,
      ...(body === undefined ? {} : { json: body }),
      ...(options.token !== undefined ? { token: options.token } : {}),
      codeFor,
    });

  return {
    json: async <T>(method: string, path: string, body?: unknown): Promise<T> =>
      (await (await call(method, path, body)).json()) as T,
    none: async (method, path, body) => {
      await (await call(method, path, body)).arrayBuffer();
    },
    bytes: async (method, path) => {
      const response = await call(method, path);
      if (response.body === null) throw new AppError("internal", `${path} answered without a body`);
      return response.body;
    },
  };
}
