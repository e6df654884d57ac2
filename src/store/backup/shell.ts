/**
 * Where `aixcl db shell` points psql: the environment (libpq's PG* variables) for an external
 * server's URL — never argv, which every local user can read through `ps` — or, for PGlite, a
 * PostgreSQL wire-protocol socket served from this process over the data directory.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { AppError } from "../../errors.js";
import { checkDatabaseUrl } from "../open.js";
import { pgliteLockPath } from "../pglite.js";

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

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the data directory's lock as openPglite does (same file, same rules: the pid, O_EXCL, a
 * dead holder's lock taken over): the socket server needs the PGlite instance itself, which
 * openPglite keeps to itself.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = pgliteLockPath(dataDir);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 2) throw error;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && isAlive(holder)) {
      throw new AppError(
        "database_error",
        `the database in ${dataDir} is in use by another process (pid ${holder}, e.g. a running aixcl serve): stop it first`,
      );
    }
    await rm(path, { force: true });
  }
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
