import pg from "pg";
import { AppError } from "../errors.js";
import type { Database, Queryable, QueryResult } from "./types.js";

export interface PostgresOptions {
  /** `postgres://user:pass@host:port/db?sslmode=…`; the caller has checked the TLS rule. */
  url: string;
  /** Connections in the pool. Default 10. */
  poolSize?: number;
  /** Password to use instead of the URL's (a managed role's password from the vault). */
  password?: () => string | Promise<string>;
}

const INT8_OID = 20;
// int8 (counts, identity columns) as numbers, as PGlite returns them: our values stay far below
// 2^53, and one row shape for both engines keeps repositories engine-agnostic.
const parseInt8 = (value: string): number => Number(value);
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary"): unknown =>
    oid === INT8_OID
      ? parseInt8
      : (pg.types.getTypeParser(oid, format) as unknown)) as typeof pg.types.getTypeParser,
};

function wrap(client: pg.Pool | pg.PoolClient): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const result = await client.query(sql, params as unknown[]);
      return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
    },
  };
}

/**
 * A client class whose connections authenticate with `password()`. node-postgres lets a
 * connection string's password — even the empty one of a URL without any — override the
 * `password` option, so the option alone would never reach a URL-configured pool; the client's
 * own `password` field is what it reads at authentication time.
 */
function clientWithPassword(password: () => string | Promise<string>): typeof pg.Client {
  return class extends pg.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      (this as unknown as { password: unknown }).password = password;
    }
  };
}

/** An external PostgreSQL server through a node-postgres pool. */
export async function openPostgres(options: PostgresOptions): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    types,
    ...(options.password ? { Client: clientWithPassword(options.password) } : {}),
  });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on("error", () => undefined);
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new AppError("database_error", `cannot connect to PostgreSQL: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const base = wrap(pool);
  let closed: Promise<void> | undefined;
  return {
    engine: "postgres",
    query: base.query,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query("BEGIN");
        const result = await fn(wrap(client));
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async exec(sql) {
      await pool.query(sql);
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
