import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { AppError, isAppError } from "../errors.js";
import { processAlive } from "../lib/processes.js";
// Before PGlite compiles its WebAssembly: the tiering budget that keeps its start quick.
import "../lib/wasm-tiering.js";
import { directoryBytes, queriedSizeBytes } from "./database-size.js";
import { seedFromTemplate } from "./pglite-template.js";
import { databaseUnavailable, isSystemError, isUnavailableState, sqlState } from "./errors.js";
import type { Database, Queryable, QueryResult } from "./types.js";

export interface PgliteOptions {
  /** Data directory (created 0700 when missing); undefined keeps the database in memory (tests). */
  dataDir?: string;
  /**
   * A dump of a data directory (PGlite `dumpDataDir()`) to start from instead of an empty cluster,
   * e.g. a migrated template: loading one takes ~1 s where creating a cluster takes 4–10 s.
   */
  loadDataDir?: Blob;
  /**
   * A migrated data directory to copy into an empty `dataDir` instead of creating a cluster there
   * (see seedFromTemplate); ignored when it does not exist or `dataDir` already holds files.
   */
  template?: string;
  /**
   * PostgreSQL's shared_buffers, MiB; PGlite's default (128) when absent. Opening touches all of
   * it, about 4 ms per MiB on a 2-core machine, so a short-lived opener (a CLI command doing a few
   * queries) asks for little.
   */
  sharedBuffersMb?: number;
}

/**
 * The error to throw for a failed PGlite call: database_error when the database itself is gone —
 * closed or closing (`ready` is false then), the WASM instance aborted (a RuntimeError), a file
 * system error while syncing the data directory (ENOSPC, EIO), or a SQLSTATE of an unavailable
 * server (out of memory) — and the error itself otherwise (SQL and constraint errors).
 */
function translate(pg: PGlite, error: unknown): unknown {
  if (isAppError(error)) return error;
  const state = sqlState(error);
  if (state !== undefined) return isUnavailableState(state) ? databaseUnavailable(error) : error;
  if (!pg.ready || isSystemError(error)) return databaseUnavailable(error);
  // WebAssembly.RuntimeError (an aborted instance) and Emscripten's file system ErrnoError are
  // named, not exported by anything this project can import a class from.
  const name = (error as { name?: unknown } | null)?.name;
  if (name === "RuntimeError" || name === "ErrnoError") return databaseUnavailable(error);
  return error;
}

function wrap(pg: PGlite, target: Pick<PGlite, "query">): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      try {
        const result = await target.query<T>(sql, params as unknown[]);
        return { rows: result.rows, rowCount: result.affectedRows ?? 0 };
      } catch (error) {
        throw translate(pg, error);
      }
    },
  };
}

/** The lock file of a data directory: beside it, so the directory itself stays PGlite's alone. */
export function pgliteLockPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}.lock`;
}

/**
 * Takes the data directory for this process and returns its release. PGlite itself does not lock
 * its directory, and two processes (or two instances in one) writing the same files corrupt the
 * database, so the first opener writes its pid into `<dataDir>.lock` (O_EXCL) and removes it on
 * release; a lock whose process is gone (a crash, kill -9) is taken over. Exported for the few
 * users of a raw PGlite instance (the `aixcl db shell` socket server), which openPglite hides.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const path = pgliteLockPath(dataDir);
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return () => rm(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST" || attempt >= 2) throw error;
    }
    const holder = Number((await readFile(path, "utf8").catch(() => "")).trim());
    if (Number.isInteger(holder) && holder > 0 && processAlive(holder)) {
      throw new AppError(
        "database_error",
        `the database in ${dataDir} is in use by another process (pid ${holder}${holder === process.pid ? ", this one" : ""}, ` +
          `e.g. a running aixcl serve): stop it first, or remove ${path} if that process is not aixcl`,
      );
    }
    await rm(path, { force: true });
  }
}

/**
 * Embedded PostgreSQL (PGlite, WASM) in one directory: nothing to install. One process at a time
 * may open a data directory (see lockDataDir), so the CLI goes through the running server when
 * there is one.
 */
export async function openPglite(options: PgliteOptions = {}): Promise<Database> {
  let unlock = (): Promise<void> => Promise.resolve();
  if (options.dataDir !== undefined) {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    unlock = await lockDataDir(options.dataDir);
    if (options.template !== undefined) {
      try {
        await seedFromTemplate(options.dataDir, options.template);
      } catch (error) {
        await unlock();
        throw error;
      }
    }
  }
  let pg: PGlite;
  try {
    pg = await PGlite.create(options.dataDir, {
      ...(options.loadDataDir === undefined ? {} : { loadDataDir: options.loadDataDir }),
      ...(options.sharedBuffersMb === undefined
        ? {}
        : {
            startParams: [...PGlite.defaultStartParams, "-c", `shared_buffers=${options.sharedBuffersMb}MB`],
          }),
    });
  } catch (error) {
    await unlock();
    throw error;
  }
  const base = wrap(pg, pg);
  let closed: Promise<void> | undefined;
  let oid: string | undefined;
  return {
    engine: "pglite",
    query: base.query,
    async sizeBytes() {
      const dataDir = options.dataDir;
      if (dataDir === undefined) return queriedSizeBytes(base);
      oid ??= (
        await base.query<{ oid: string }>(
          "SELECT oid::text AS oid FROM pg_database WHERE datname = current_database()",
        )
      ).rows[0]?.oid;
      return oid === undefined ? queriedSizeBytes(base) : directoryBytes(join(dataDir, "base", oid));
    },
    async transaction(fn) {
      try {
        return await pg.transaction((tx) => fn(wrap(pg, tx)));
      } catch (error) {
        throw translate(pg, error);
      }
    },
    async exec(sql) {
      try {
        await pg.exec(sql);
      } catch (error) {
        throw translate(pg, error);
      }
    },
    close() {
      closed ??= pg.close().finally(unlock);
      return closed;
    },
  };
}
