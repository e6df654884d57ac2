/**
 * A database that goes away under a running store: lost and refused connections, an administrator
 * terminating sessions (57P01), too many connections (53300), a database closed to connections,
 * and a closed PGlite are AppError `database_error` (503 + Retry-After); SQL and constraint errors
 * keep their SQLSTATE for the code that handles them; and the store recovers by itself.
 */
import type pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { openPostgres } from "../../src/store/postgres.js";
import type { Database } from "../../src/store/types.js";
import { rejectedAppError } from "../support/app-error.js";
import {
  createPostgresDatabase,
  describeEachDatabase,
  withPostgresAdmin,
  type PostgresDatabase,
} from "../support/databases.js";
import { openTemplatePglite } from "../support/pglite-pool.js";

/** Runs `fn` and returns what it threw (anything, not only AppError). */
async function thrown(fn: () => Promise<unknown>): Promise<unknown> {
  try {
    await fn();
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

function expectUnavailable(error: AppError, sqlState?: string): void {
  expect(error.code).toBe("database_error");
  expect(error.status).toBe(503);
  expect(error.retryAfter).toBeGreaterThan(0);
  // The driver's message (hosts, ports, role names) stays in the cause, for the log.
  expect(error.message).toBe("database unavailable; retry later");
  if (sqlState !== undefined) expect((error.cause as { code?: unknown }).code).toBe(sqlState);
}

describeEachDatabase("SQL errors", (db) => {
  it("pass through with their SQLSTATE: a syntax error and a unique violation are not 503", async () => {
    const syntax = await thrown(() => db().query("SELEC 1"));
    expect(syntax).not.toBeInstanceOf(AppError);
    expect((syntax as { code?: unknown }).code).toBe("42601");
    await db().exec("CREATE TABLE unique_probe (k text PRIMARY KEY)");
    await db().query("INSERT INTO unique_probe VALUES ($1)", ["a"]);
    for (const attempt of [
      () => db().query("INSERT INTO unique_probe VALUES ($1)", ["a"]),
      () => db().transaction((tx) => tx.query("INSERT INTO unique_probe VALUES ($1)", ["a"])),
    ]) {
      const unique = await thrown(attempt);
      expect(unique).not.toBeInstanceOf(AppError);
      expect((unique as { code?: unknown }).code).toBe("23505");
    }
    expect((await db().query("SELECT count(*)::int AS n FROM unique_probe")).rows).toEqual([{ n: 1 }]);
  });
});

describe("PGlite closed under the store", () => {
  it("answers database_error for queries, transactions and scripts", async () => {
    // The run's migrated template (an empty cluster costs seconds of initdb): any database will do.
    const db = await openTemplatePglite();
    await db.query("SELECT 1");
    await db.close();
    expectUnavailable(await rejectedAppError(db.query("SELECT 1")));
    expectUnavailable(await rejectedAppError(db.transaction((tx) => tx.query("SELECT 1"))));
    expectUnavailable(await rejectedAppError(db.exec("SELECT 1")));
  });
});

describe("PostgreSQL going away under the store", () => {
  let database: PostgresDatabase;
  let db: Database;
  beforeAll(async () => {
    database = await createPostgresDatabase();
    db = await openPostgres({ url: database.url, poolSize: 3 });
  });
  afterEach(async () => {
    await admin("ALTER DATABASE %I WITH CONNECTION LIMIT -1 ALLOW_CONNECTIONS true");
  });
  afterAll(async () => {
    await db?.close();
    await database?.drop();
  });

  /** Runs DDL on the test database as the superuser, the name quoted by format(). */
  async function admin(template: string): Promise<void> {
    await withPostgresAdmin(async (client: pg.Client) => {
      const built = await client.query<{ sql: string }>(`SELECT format('${template}', $1::text) AS sql`, [
        database.database,
      ]);
      await client.query(built.rows[0]!.sql);
    });
  }

  /** Terminates every session on the test database (what a shutdown or a DBA does) and waits for them to go. */
  async function terminateSessions(): Promise<void> {
    await withPostgresAdmin(async (client) => {
      await client.query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
        [database.database],
      );
      for (let i = 0; i < 100; i++) {
        const { rows } = await client.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1",
          [database.database],
        );
        if (rows[0]?.n === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    // Let the pool's sockets see the close before the next checkout.
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  it("a session terminated inside a transaction (57P01) is database_error, and the next query works", async () => {
    const error = await rejectedAppError(
      db.transaction(async (tx) => {
        await tx.query("SELECT 1");
        await terminateSessions();
        await tx.query("SELECT 1");
      }),
    );
    expectUnavailable(error);
    expect((await db.query<{ ok: number }>("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
  });

  it("a session terminated during a query is database_error with the server's 57P01", async () => {
    const sleeping = db.query("SELECT pg_sleep(30)");
    const caught = rejectedAppError(sleeping);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await terminateSessions();
    expectUnavailable(await caught, "57P01");
  });

  it("too many connections (53300) is database_error until the limit allows one again", async () => {
    await admin("ALTER DATABASE %I WITH CONNECTION LIMIT 0");
    await terminateSessions();
    expectUnavailable(await rejectedAppError(db.query("SELECT 1")), "53300");
    await admin("ALTER DATABASE %I WITH CONNECTION LIMIT -1");
    expect((await db.query<{ ok: number }>("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
  });

  it("a database closed to connections is database_error, for transactions and scripts too", async () => {
    await admin("ALTER DATABASE %I WITH ALLOW_CONNECTIONS false");
    await terminateSessions();
    expectUnavailable(await rejectedAppError(db.query("SELECT 1")), "55000");
    expectUnavailable(await rejectedAppError(db.transaction((tx) => tx.query("SELECT 1"))));
    expectUnavailable(await rejectedAppError(db.exec("SELECT 1")));
    await admin("ALTER DATABASE %I WITH ALLOW_CONNECTIONS true");
    expect((await db.query<{ ok: number }>("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
  });
});
