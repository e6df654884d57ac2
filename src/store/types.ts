/**
 * The platform's PostgreSQL store: one `Database` interface over embedded PGlite and an external
 * server (node-postgres pool), so every repository and test runs unchanged on both. SQL is always
 * parameterized (`$1`, `$2`…); nothing is ever interpolated into a statement.
 */

export interface QueryResult<T> {
  rows: T[];
  /** Rows affected by INSERT/UPDATE/DELETE (0 when the engine reports none). */
  rowCount: number;
}

/** Something that runs one parameterized statement: the database itself or an open transaction. */
export interface Queryable {
  query: <T = Record<string, unknown>>(sql: string, params?: readonly unknown[]) => Promise<QueryResult<T>>;
}

export type DatabaseEngine = "pglite" | "postgres";

export interface Database extends Queryable {
  readonly engine: DatabaseEngine;
  /**
   * Runs `fn` in one transaction (BEGIN … COMMIT, ROLLBACK when it throws) on one connection.
   * Statements of `fn` must go through `tx`, never through the database itself.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs a script of several statements without parameters (migrations, restores). */
  exec(sql: string): Promise<void>;
  /** The database's size on disk, bytes (src/store/database-size.ts). */
  sizeBytes(): Promise<number>;
  /** Closes the pool / PGlite instance. Idempotent. */
  close(): Promise<void>;
}
