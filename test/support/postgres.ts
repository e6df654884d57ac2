/**
 * A real PostgreSQL server for the store suite, started once per test run by the vitest global
 * setup: `initdb` into a throwaway temp dir, listening on 127.0.0.1 on a free port (password
 * authentication over TCP, so tests exercise real credentials), stopped and deleted at teardown.
 * The binaries refuse to run as root, so as root they run as the `postgres` OS user through
 * `runuser` (argv only, never a shell string). A missing binary or a server that does not start
 * fails the run: CI may not skip the tests of a component it could not start.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chown, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How test files reach the server's superuser (handed over with vitest's provide/inject). */
export interface PostgresAdmin {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Directory of the server's unix socket. */
  socketDir: string;
  /** Directory of the server's binaries (`psql`, `pg_dump`… of the same version). */
  binDir: string;
  /** Major version of the server. */
  version: number;
}

export interface PostgresServer extends PostgresAdmin {
  /** Stops the server and deletes its directory. Idempotent. */
  stop: () => Promise<void>;
  /**
   * Shuts the server down as an administrator would (`pg_ctl stop -m fast`: open sessions get
   * 57P01, new connections are refused) and keeps its data for resume().
   */
  halt: () => Promise<void>;
  /** Starts a halted server again, on the same port. */
  resume: () => Promise<void>;
}

/** The serializable part of a server (what test files get through inject). */
export function adminOf(server: PostgresServer): PostgresAdmin {
  const { host, port, user, password, socketDir, binDir, version } = server;
  return { host, port, user, password, socketDir, binDir, version };
}

const ROOTS = ["/usr/lib/postgresql"];
const OS_USER = "postgres";

/** The newest installed server's bin directory (Debian's /usr/lib/postgresql/<major>/bin). */
async function findPostgresBin(): Promise<{ binDir: string; version: number }> {
  const found: { binDir: string; version: number }[] = [];
  for (const root of ROOTS) {
    const entries = await readdir(root).catch(() => [] as string[]);
    for (const entry of entries) {
      const version = Number(entry);
      if (!Number.isInteger(version)) continue;
      const binDir = join(root, entry, "bin");
      const ok = await Promise.all(
        ["initdb", "postgres", "pg_ctl"].map((name) =>
          stat(join(binDir, name)).then(
            () => true,
            () => false,
          ),
        ),
      );
      if (ok.every(Boolean)) found.push({ binDir, version });
    }
  }
  found.sort((a, b) => b.version - a.version);
  const newest = found[0];
  if (!newest) {
    throw new Error(
      "PostgreSQL server binaries (initdb, postgres, pg_ctl) not found under /usr/lib/postgresql/<version>/bin: " +
        "install the `postgresql` package (the store tests run against a real server and are never skipped)",
    );
  }
  return newest;
}

function run(file: string, args: string[], options: { asOsUser: boolean }): Promise<string> {
  // runuser lives in /usr/sbin, which a root PATH may lack (e.g. under `su` without `-`).
  const runuser = ["/usr/sbin/runuser", "/sbin/runuser"].find((path) => existsSync(path)) ?? "runuser";
  const [command, argv] = options.asOsUser ? [runuser, ["-u", OS_USER, "--", file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(
      command,
      argv,
      { timeout: 60_000, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" } },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args[0] ?? ""} failed: ${error.message}\n${stderr}${stdout}`));
        else resolve(stdout);
      },
    );
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function osUserIds(): Promise<{ uid: number; gid: number }> {
  const passwd = await readFile("/etc/passwd", "utf8");
  const line = passwd.split("\n").find((entry) => entry.startsWith(`${OS_USER}:`));
  const fields = line?.split(":");
  if (!fields || fields.length < 4) {
    throw new Error(
      `running as root, but there is no "${OS_USER}" OS user to run PostgreSQL as (the server refuses root): install the postgresql package`,
    );
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

/** Starts a fresh server; the caller must `stop()` it. */
export async function startPostgres(): Promise<PostgresServer> {
  const { binDir, version } = await findPostgresBin();
  const asOsUser = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), "aixcl-test-pg-"));
  const dataDir = join(dir, "data");
  const password = randomBytes(18).toString("base64url");
  let stopped: Promise<void> | undefined;
  let started = false;
  const pgCtlStart = () =>
    run(join(binDir, "pg_ctl"), ["start", "-D", dataDir, "-l", join(dir, "server.log"), "-w", "-t", "60"], {
      asOsUser,
    });
  const pgCtlStop = () =>
    run(join(binDir, "pg_ctl"), ["stop", "-D", dataDir, "-m", "fast", "-w"], { asOsUser });
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      if (started) await pgCtlStop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  const halt = async (): Promise<void> => {
    await pgCtlStop();
    started = false;
  };
  const resume = async (): Promise<void> => {
    await pgCtlStart();
    started = true;
  };
  try {
    const pwfile = join(dir, "pwfile");
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (asOsUser) {
      const { uid, gid } = await osUserIds();
      await chown(dir, uid, gid);
      await chown(pwfile, uid, gid);
    }
    await run(
      join(binDir, "initdb"),
      [
        "-D",
        dataDir,
        "-U",
        "postgres",
        `--pwfile=${pwfile}`,
        "--auth-local=trust",
        "--auth-host=scram-sha-256",
        "--encoding=UTF8",
        "--locale=C",
        "--no-sync",
      ],
      { asOsUser },
    );
    await rm(pwfile);
    // Settings go into the config file, not pg_ctl -o (which pg_ctl hands to a shell).
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      await writeFile(
        join(dataDir, "postgresql.auto.conf"),
        [
          "listen_addresses = '127.0.0.1'",
          `port = ${port}`,
          `unix_socket_directories = '${dir.replaceAll("'", "''")}'`,
          "fsync = off",
          "synchronous_commit = off",
          "full_page_writes = off",
          "max_connections = 300",
          "",
        ].join("\n"),
      );
      try {
        await pgCtlStart();
        started = true;
        return {
          host: "127.0.0.1",
          port,
          user: "postgres",
          password,
          socketDir: dir,
          binDir,
          version,
          stop,
          halt,
          resume,
        };
      } catch (error) {
        // Another process may have taken the free port between our probe and the server's bind.
        const log = await readFile(join(dir, "server.log"), "utf8").catch(() => "");
        if (attempt < 2 && /could not bind|address already in use/i.test(log)) continue;
        throw new Error(`PostgreSQL did not start: ${(error as Error).message}\n${log}`, { cause: error });
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
}
