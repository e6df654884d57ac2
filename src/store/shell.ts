/**
 * Where `aixcl db shell` points psql: the environment (libpq's PG* variables) for an external
 * server's URL — never argv, which every local user can read through `ps` — or, for PGlite, a
 * PostgreSQL wire-protocol socket served from this process over the data directory.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { AppError } from "../errors.js";
import { checkDatabaseUrl } from "./open.js";
import { lockDataDir } from "./pglite.js";

/** URL query parameters libpq understands, and the environment variable each maps to. */
const URL_PARAMS: Record<string, string> = {
  sslmode: "PGSSLMODE",
  sslrootcert: "PGSSLROOTCERT",
  sslcert: "PGSSLCERT",
  sslkey: "PGSSLKEY",
  sslcrl: "PGSSLCRL",
  channel_binding: "PGCHANNELBINDING",
  connect_timeout: "PGCONNECT_TIMEOUT",
  application_name: "PGAPPNAME",
  options: "PGOPTIONS",
  target_session_attrs: "PGTARGETSESSIONATTRS",
  host: "PGHOST",
  port: "PGPORT",
  user: "PGUSER",
  dbname: "PGDATABASE",
};

export interface PsqlConnection {
  /** PG* variables for psql (the caller removes inherited PG* variables first). */
  env: Record<string, string>;
  /** Parameters of the URL psql has no equivalent for (ignored; worth a warning). */
  ignored: string[];
}

/**
 * libpq environment for `database.url`. The password travels as PGPASSWORD: a process's
 * environment is readable only by its own user (and root), unlike its argv.
 */
export function postgresConnection(rawUrl: string, password?: string): PsqlConnection {
  const url = checkDatabaseUrl(rawUrl);
  const env: Record<string, string> = {};
  const ignored: string[] = [];
  if (url.hostname !== "") env.PGHOST = url.hostname.replace(/^\[|\]$/g, "");
  if (url.port !== "") env.PGPORT = url.port;
  if (url.username !== "") env.PGUSER = decodeURIComponent(url.username);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  if (database !== "") env.PGDATABASE = database;
  for (const [name, value] of url.searchParams) {
    const variable = URL_PARAMS[name];
    if (variable) env[variable] = value;
    else ignored.push(name);
  }
  const secret = password ?? (url.password === "" ? undefined : decodeURIComponent(url.password));
  if (secret !== undefined) env.PGPASSWORD = secret;
  return { env, ignored };
}

export interface PgliteShellServer {
  /** PG* variables that point psql at the socket. */
  env: Record<string, string>;
  /** Stops serving and closes the database. Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a PGlite data directory and serves it on a unix socket in a fresh 0700 temp directory:
 * the socket has no authentication, so only a path that other users cannot reach keeps it the
 * caller's alone (a loopback TCP port would be open to every local user). One connection at a
 * time, as PGlite runs one session.
 */
export async function servePgliteForShell(dataDir: string): Promise<PgliteShellServer> {
  const initialized = await stat(join(dataDir, "PG_VERSION")).then(
    () => true,
    () => false,
  );
  if (!initialized) {
    throw new AppError(
      "not_found",
      `no database in ${dataDir} yet (run \`aixcl db migrate\` or \`aixcl serve\`)`,
    );
  }
  // The same lock as openPglite: the socket server needs the PGlite instance openPglite hides.
  const unlock = await lockDataDir(dataDir);
  let socketDir: string | undefined;
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= (async () => {
      await server?.stop().catch(() => undefined);
      await db?.close().catch(() => undefined);
      await unlock();
      if (socketDir !== undefined) await rm(socketDir, { recursive: true, force: true });
    })();
    return closed;
  };
  try {
    socketDir = await mkdtemp(join(tmpdir(), "aixcl-psql-"));
    db = await PGlite.create(dataDir);
    const port = 5432;
    server = new PGLiteSocketServer({ db, path: join(socketDir, `.s.PGSQL.${port}`), maxConnections: 1 });
    await server.start();
    return {
      env: {
        PGHOST: socketDir,
        PGPORT: String(port),
        PGUSER: "postgres",
        PGDATABASE: "postgres",
        PGSSLMODE: "disable",
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
