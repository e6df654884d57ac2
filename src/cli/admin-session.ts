/**
 * How the admin commands (`users`, `keys`, `vault`, `audit`, `db backup`) reach the platform:
 * through this home's running server with the local token it wrote (run/admin.token) — so what a
 * change ends (sessions, open streams) is cut in that server — or, when no server of this home
 * answers, on the files and the database directly.
 *
 * The server is looked for where run/server.json says it listens (a server started with
 * `--port`), then at the configured address; a listener counts only once it has answered an
 * identity challenge with the token (checkServerIdentity). The token is sent to nothing
 * else: not to a stale address, not to another program on the configured port.
 */
import { ServerUnreachableError } from "../api/http.js";
import { localTokenPath, serverRecordPath } from "../config/load.js";
import type { Config } from "../config/schema.js";
import { processAlive } from "../lib/processes.js";
import type { Database } from "../store/types.js";
import { clientUrl, serverUrl } from "./connection.js";
import { printErr } from "./output.js";

/** A running server of this home and the token that makes the CLI its admin. */
export interface LocalServer {
  baseUrl: string;
  /** Secret: sent as `Authorization: Bearer`, never printed. */
  token: string;
}

export type LocalServerLookup =
  | { running: true; server: LocalServer }
  | {
      running: false;
      /**
       * Why a server that the run/ files suggest is not used (stale file, nothing listening,
       * another program at the address); undefined when nothing suggested one.
       */
      note?: string;
    };

/** The local token of this home's server, or undefined when none was written (or it is unreadable). */
async function readCliToken(config: Readonly<Config>): Promise<string | undefined> {
  const { readLocalToken } = await import("../auth/local-token.js");
  return readLocalToken(localTokenPath(config));
}

const WHY = {
  unreachable: "nothing listens there",
  timeout: "no answer within 5 s",
  mismatch: "something there did not prove it is this home's server (the local token was not sent to it)",
} as const;

export type IdentityCheck =
  { verified: true } | { verified: false; why: "unreachable" | "timeout" | "mismatch" };

/**
 * Challenges whatever listens at `baseUrl` (an http URL) to prove it holds `token`. The token is
 * used only to compute the expected answer: it never leaves this process.
 */
export async function checkServerIdentity(baseUrl: string, token: string): Promise<IdentityCheck> {
  const [{ randomBytes }, { requestIdentityProof }, { checkIdentityProof }] = await Promise.all([
    import("node:crypto"),
    import("../api/identity-client.js"),
    import("../auth/local-token.js"),
  ]);
  const challenge = randomBytes(32).toString("base64url");
  const answer = await requestIdentityProof(baseUrl, challenge);
  if ("why" in answer) return { verified: false, why: answer.why };
  const port = Number(new URL(baseUrl).port || 80);
  return checkIdentityProof(token, challenge, port, answer.proof)
    ? { verified: true }
    : { verified: false, why: "mismatch" };
}

/** Finds this home's running server (see the module comment); never sends the token unverified. */
export async function findLocalServer(config: Readonly<Config>): Promise<LocalServerLookup> {
  const { readServerRecord } = await import("../auth/server-record.js");
  const [token, read] = await Promise.all([readCliToken(config), readServerRecord(serverRecordPath(config))]);
  const record = read.state === "found" ? read.record : undefined;
  if (token === undefined) {
    if (read.state === "absent") return { running: false };
    return { running: false, note: "run/server.json is stale: there is no run/admin.token" };
  }

  const problems: string[] = [];
  const recorded = record !== undefined ? clientUrl(record.host, record.port) : undefined;
  if (record !== undefined && recorded !== undefined) {
    if (!processAlive(record.pid)) {
      problems.push(`run/server.json names ${recorded}, but its process ${record.pid} is gone`);
    } else {
      const check = await checkServerIdentity(recorded, token);
      if (check.verified) return { running: true, server: { baseUrl: recorded, token } };
      problems.push(`run/server.json names ${recorded}: ${WHY[check.why]}`);
    }
  } else if (read.state === "invalid") {
    problems.push("run/server.json is unreadable");
  }

  const configured = serverUrl(config);
  if (configured !== recorded) {
    const check = await checkServerIdentity(configured, token);
    if (check.verified) return { running: true, server: { baseUrl: configured, token } };
    problems.push(`at the configured ${configured}: ${WHY[check.why]}`);
  }
  return { running: false, note: `no server of this home answers (${problems.join("; ")})` };
}

/**
 * Runs `viaServer` when this home's server answers, else `locally` (after saying on stderr why
 * a server that the run/ files suggest was not used): a token left by a crashed server is no
 * reason to fail.
 */
export async function serverElseLocal<T>(
  config: Readonly<Config>,
  viaServer: (server: LocalServer) => Promise<T>,
  locally: () => Promise<T>,
): Promise<T> {
  const found = await findLocalServer(config);
  if (found.running) {
    try {
      return await viaServer(found.server);
    } catch (error) {
      // It stopped between the check and the call: its files are free now.
      if (!(error instanceof ServerUnreachableError)) throw error;
    }
  } else if (found.note !== undefined) {
    // A server that hangs still holds PGlite's lock (src/store/pglite.ts): the direct path then
    // refuses on its own.
    await printErr(`aixcl: note: ${found.note}; working on this home's files directly`);
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
      const db = await openDatabase(config, { oneShot: true });
      try {
        return await body(ops.database(db));
      } finally {
        await db.close();
      }
    },
  );
}
