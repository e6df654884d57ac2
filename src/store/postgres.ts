import pg from "pg";
import { AppError } from "../errors.js";
import { queriedSizeBytes } from "./database-size.js";
import { databaseUnavailable, isSystemError, isUnavailableState, sqlState } from "./errors.js";
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

/**
 * A checked-out connection whose statements translate unavailability errors (see ./errors.ts) and
 * which remembers that its connection broke, so it is destroyed on release, never reused.
 */
interface Session extends Queryable {
  readonly client: pg.PoolClient;
  broken: Error | undefined;
}

function toRows<T>(result: pg.QueryResult): QueryResult<T> {
  return { rows: result.rows as T[], rowCount: result.rowCount ?? 0 };
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
  // Connections that ended or failed. The pool listens for errors only on idle clients: without a
  // listener of ours, a connection lost while checked out (between two statements of a
  // transaction) would be an unhandled 'error' event, which ends the process.
  const lost = new WeakSet<pg.PoolClient>();
  pool.on("connect", (client) => {
    client.on("error", () => lost.add(client));
    client.on("end", () => lost.add(client));
  });
  try {
    await pool.query("SELECT 1");
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new AppError("database_error", `cannot connect to PostgreSQL: ${(error as Error).message}`, {
      cause: error,
    });
  }

  /**
   * The driver's error, or database_error when the database (not the statement) failed: a
   * SQLSTATE of an unavailable server, a socket error, or any error on a connection that has
   * ended (node-postgres reports a dropped connection as a plain Error without a code).
   */
  const translate = async (error: unknown, client: pg.PoolClient): Promise<unknown> => {
    const state = sqlState(error);
    if (state !== undefined) return isUnavailableState(state) ? databaseUnavailable(error) : error;
    if (isSystemError(error) || pool.ending) return databaseUnavailable(error);
    // The client's 'end' event follows a lost connection's error by a tick.
    await new Promise((resolve) => setImmediate(resolve));
    return lost.has(client) ? databaseUnavailable(error) : error;
  };

  /** A pooled connection; failing to get one (refused, too many clients, shut down) is always 503. */
  const checkout = async (): Promise<Session> => {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw databaseUnavailable(error);
    }
    const session: Session = {
      client,
      broken: undefined,
      async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
        try {
          return toRows<T>(await client.query(sql, params as unknown[]));
        } catch (error) {
          const translated = await translate(error, client);
          if (translated !== error) session.broken = error as Error;
          throw translated;
        }
      },
    };
    return session;
  };

  const release = (session: Session): void => {
    // A broken connection is destroyed (release with an error), not handed to the next request.
    session.client.release(session.broken ?? lost.has(session.client));
  };

  const once = async <T>(fn: (session: Session) => Promise<T>): Promise<T> => {
    const session = await checkout();
    try {
      return await fn(session);
    } finally {
      release(session);
    }
  };

  let closed: Promise<void> | undefined;
  return {
    engine: "postgres",
    query: (sql, params) => once((session) => session.query(sql, params)),
    sizeBytes: () => once((session) => queriedSizeBytes(session)),
    transaction: (fn) =>
      once(async (session) => {
        await session.query("BEGIN");
        try {
          const result = await fn(session);
          await session.query("COMMIT");
          return result;
        } catch (error) {
          if (session.broken === undefined) {
            // A connection whose ROLLBACK failed is in an unknown state: destroy it.
            await session.query("ROLLBACK").catch((rollback: unknown) => {
              session.broken ??= rollback instanceof Error ? rollback : new Error("ROLLBACK failed");
            });
          }
          throw error;
        }
      }),
    async exec(sql) {
      await once((session) => session.query(sql));
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
