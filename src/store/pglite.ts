import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import type { Database, Queryable, QueryResult } from "./types.js";

export interface PgliteOptions {
  /** Data directory (created 0700 when missing); undefined keeps the database in memory (tests). */
  dataDir?: string;
}

function wrap(target: Pick<PGlite, "query">): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await target.query<T>(sql, params as unknown[]);
      return { rows: result.rows, rowCount: result.affectedRows ?? 0 };
    },
  };
}

/**
 * Embedded PostgreSQL (PGlite, WASM) in one directory: nothing to install. One process at a time
 * may open a data directory, so the CLI goes through the running server when there is one.
 */
export async function openPglite(options: PgliteOptions = {}): Promise<Database> {
  if (options.dataDir !== undefined) await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const pg = await PGlite.create(options.dataDir);
  const base = wrap(pg);
  let closed: Promise<void> | undefined;
  return {
    engine: "pglite",
    query: base.query,
    transaction: (fn) => pg.transaction((tx) => fn(wrap(tx))),
    async exec(sql) {
      await pg.exec(sql);
    },
    close() {
      closed ??= pg.close();
      return closed;
    },
  };
}
