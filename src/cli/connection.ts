/**
 * How commands reach the platform: the URL of the server the config names, a typed client for it,
 * and the model store opened directly when no server answers. Shared by the model commands, `run`,
 * `vault`, `db` and the admin session (src/cli/admin-session.ts).
 */
import { createApiClient, type ApiClient } from "../api/client.js";
import { checkedArg } from "./args.js";
import { modelsPath } from "../config/load.js";
import { cliConfig } from "./io.js";
import type { Config } from "../config/schema.js";
import { parseModelName } from "../models/names.js";
import type { LocalModelStore } from "../models/store.js";

/**
 * What the model commands and `run` share: the resolved config, a client for the server it
 * names, and (only when no server answers) the model store opened directly.
 */
export interface CliSession {
  config: Readonly<Config>;
  client: ApiClient;
}

/** The URL a client uses for a server bound to `host`:`port`: a wildcard bind is reached on loopback. */
export function clientUrl(bindHost: string, port: number): string {
  let host = bindHost;
  if (host === "0.0.0.0") host = "127.0.0.1";
  else if (host === "::" || host === "[::]") host = "::1";
  if (host.includes(":") && !host.startsWith("[")) host = `[${host}]`;
  return `http://${host}:${port}`;
}

/** The URL a client uses for `server.host`/`server.port`. */
export function serverUrl(config: Readonly<Config>): string {
  return clientUrl(config.server.host, config.server.port);
}

export function openSession(): CliSession {
  const config = cliConfig();
  return { config, client: createApiClient({ baseUrl: serverUrl(config), apiKey: config.auth.api_key }) };
}

/** Opens the store of `config` (loaded lazily: commands talking to a server never pay for it). */
export async function openStore(config: Readonly<Config>): Promise<LocalModelStore> {
  const { createModelStore } = await import("../models/store.js");
  return createModelStore({ root: modelsPath(config) });
}

/**
 * Runs `online` against the server when one answers, else `offline` on the store itself. The
 * store is closed afterwards either way.
 */
export async function serverOrStore<T>(
  session: CliSession,
  online: (client: ApiClient) => Promise<T>,
  offline: (store: LocalModelStore) => Promise<T>,
): Promise<T> {
  if (await session.client.reachable()) return online(session.client);
  const store = await openStore(session.config);
  try {
    return await offline(store);
  } finally {
    await store.close();
  }
}

/**
 * commander argument parser for model names: an invalid name (`../x`, `--insecure`, `a:`) is
 * a usage error (exit 2) before anything touches the server or the store.
 */
export const modelNameArg = checkedArg(parseModelName);
