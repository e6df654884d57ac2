/**
 * A database's size on disk. PostgreSQL's `pg_database_size` sums the files of the database's
 * directory; in PGlite that walk runs through the WASM file system, synchronously on the server's
 * thread (20–50 ms with the ~1,000 files of a small database, on every admin health check). For
 * PGlite the same sum is read from the file system here, its stat calls on the thread pool.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import { dirEntries, isNotFound } from "../lib/files.js";
import type { Queryable } from "./types.js";

/**
 * Bytes of the files directly in `dir` (a database directory under `base/` holds no
 * subdirectories); a file removed while they are read counts 0, a missing `dir` is 0.
 */
export async function directoryBytes(dir: string): Promise<number> {
  const sizes = await Promise.all(
    (await dirEntries(dir)).map((entry) =>
      stat(join(dir, entry.name)).then(
        (s) => (s.isFile() ? s.size : 0),
        (error: unknown) => {
          if (isNotFound(error)) return 0;
          throw error;
        },
      ),
    ),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

/** `pg_database_size` of the current database (a PostgreSQL server, or PGlite in memory). */
export async function queriedSizeBytes(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ size: number | string }>(
    "SELECT pg_database_size(current_database()) AS size",
  );
  return Number(rows[0]?.size ?? 0);
}
