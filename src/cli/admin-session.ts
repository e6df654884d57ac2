/**
 * How the admin commands (`users`, `keys`, `vault`) reach the platform: through this home's
 * running server with the local token it wrote (run/admin.token) — so what a change ends
 * (sessions, open streams) is cut in that server — or, when no server answers, on the files and
 * the database directly.
 */
import { ServerUnreachableError } from "../api/client.js";
import { localTokenPath } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { Database } from "../store/types.js";
import { serverUrl } from "./connection.js";

/** A running server of this home and the token that makes the CLI its admin. */
export interface LocalServer {
  baseUrl: string;
  /** Secret: sent as `Authorization: Bearer`, never printed. */
  token: string;
}

/** The local token of this home's server, or undefined when none was written (or it is unreadable). */
export async function readCliToken(config: Readonly<Config>): Promise<string | undefined> {
  const { readLocalToken } = await import("../auth/local-token.js");
  return readLocalToken(localTokenPath(config));
}

/**
 * Runs `viaServer` when the local token exists and the server answers, else `locally`: a token
 * left by a crashed server is no reason to fail.
 */
export async function serverElseLocal<T>(
  config: Readonly<Config>,
  viaServer: (server: LocalServer) => Promise<T>,
  locally: () => Promise<T>,
): Promise<T> {
  const token = await readCliToken(config);
  if (token !== undefined) {
    try {
      return await viaServer({ baseUrl: serverUrl(config), token });
    } catch (error) {
      if (!(error instanceof ServerUnreachableError)) throw error;
    }
  }
  return locally();
}

/** The same operations, reached through the server's admin API or on the database. */
export interface AdminOps<Ops> {
  server(server: LocalServer): Ops;
  database(db: Database): Ops;
}

/**
 * Runs `body` with the server's operations (see serverElseLocal), else with the database's on the
 * configured database opened for this call alone.
 */
export function serverElseDatabase<Ops, T>(
  config: Readonly<Config>,
  ops: AdminOps<Ops>,
  body: (ops: Ops) => Promise<T>,
): Promise<T> {
  return serverElseLocal(
    config,
    (server) => body(ops.server(server)),
    async () => {
      const { openDatabase } = await import("../store/open.js");
      const db = await openDatabase(config);
      try {
        return await body(ops.database(db));
      } finally {
        await db.close();
      }
    },
  );
}
