/**
 * Databases for tests, on both engines the platform supports: embedded PGlite (in memory) and the
 * real PostgreSQL server the global setup started. Each caller gets a database of its own (a fresh
 * database + role on the server), so test files run in parallel without seeing each other's rows.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, inject } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { migrate } from "../../src/store/migrate.js";
import { closingAlso, openDatabase } from "../../src/store/open.js";
import { openPostgres } from "../../src/store/postgres.js";
import type { Database, DatabaseEngine } from "../../src/store/types.js";
import { openTemplatePglite, takePooledPglite } from "./pglite-pool.js";
import type { PostgresAdmin } from "./postgres.js";

const DATABASE_ENGINES: readonly DatabaseEngine[] = ["pglite", "postgres"];

/**
 * A password full of the characters that break naive URL or SQL handling; the random tail keeps
 * every role's password different.
 */
const SPECIAL_PASSWORD_CHARS = `p@ss:w/rd?#%'"\\ &=+;$`;

/** The superuser of the run's PostgreSQL server (started by test/support/global-setup.ts). */
export function postgresAdmin(): PostgresAdmin {
  return inject("postgres");
}

/** Runs `fn` with a superuser connection to the server's `postgres` database. */
export async function withPostgresAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = postgresAdmin();
  const client = new pg.Client({
    host: admin.host,
    port: admin.port,
    user: admin.user,
    password: admin.password,
    database: "postgres",
  });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs DDL built server-side by format() from parameters (%I identifiers, %L literals). */
async function ddl(client: pg.Client, template: string, ...params: string[]): Promise<void> {
  const placeholders = params.map((_, index) => `$${index + 1}::text`).join(", ");
  const built = await client.query<{ sql: string }>(
    `SELECT format('${template}', ${placeholders}) AS sql`,
    params,
  );
  const sql = built.rows[0]?.sql;
  if (sql === undefined) throw new Error("format() returned nothing");
  await client.query(sql);
}

/** Sets a role's password on the server (as a rotation does), e.g. to make a URL's password stale. */
export async function setRolePassword(role: string, password: string): Promise<void> {
  await withPostgresAdmin((client) => ddl(client, "ALTER ROLE %I PASSWORD %L", role, password));
}

export interface PostgresDatabase {
  /** `postgres://role:password@127.0.0.1:port/db` with the password percent-encoded. */
  url: string;
  role: string;
  password: string;
  database: string;
  /** Drops the database (closing any session still in it) and its role. Idempotent. */
  drop: () => Promise<void>;
}

/**
 * A fresh, empty database on the real server, owned by a fresh non-superuser role whose password
 * holds special characters; for tests that open it themselves (config `database.url`, the CLI).
 */
export async function createPostgresDatabase(): Promise<PostgresDatabase> {
  const admin = postgresAdmin();
  const suffix = randomBytes(6).toString("hex");
  const role = `aixcl_test_${suffix}`;
  const database = `aixcl_test_${suffix}`;
  const password = `${SPECIAL_PASSWORD_CHARS}${randomBytes(9).toString("base64url")}`;
  await withPostgresAdmin(async (client) => {
    await ddl(client, "CREATE ROLE %I LOGIN PASSWORD %L", role, password);
    await ddl(client, "CREATE DATABASE %I OWNER %I", database, role);
  });
  let dropped: Promise<void> | undefined;
  return {
    url: `postgres://${encodeURIComponent(role)}:${encodeURIComponent(password)}@${admin.host}:${admin.port}/${database}`,
    role,
    password,
    database,
    drop() {
      dropped ??= withPostgresAdmin(async (client) => {
        await ddl(client, "DROP DATABASE IF EXISTS %I WITH (FORCE)", database);
        await ddl(client, "DROP ROLE IF EXISTS %I", role);
      });
      return dropped;
    },
  };
}

/**
 * Runs `fn` on the database a config with these settings opens (a home's PGlite, or
 * `database.url`), closed after. PGlite allows one process: only while no CLI runs on that home.
 */
export async function withConfiguredDatabase<T>(
  flags: Record<string, unknown>,
  fn: (db: Database) => Promise<T>,
): Promise<T> {
  const db = await openDatabase(loadConfig({ flags, env: {}, readFile: false }), { oneShot: true });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/**
 * A fresh, migrated, empty database of `engine`, private to the caller; close() also drops it
 * (postgres). PGlite starts from the run's migrated template (test/support/pglite-template.ts).
 */
export async function openTestDatabase(engine: DatabaseEngine): Promise<Database> {
  if (engine === "pglite") return openTemplatePglite();
  const created = await createPostgresDatabase();
  let db: Database;
  try {
    db = await openPostgres({ url: created.url, poolSize: 10 });
  } catch (error) {
    await created.drop();
    throw error;
  }
  try {
    await migrate(db);
  } catch (error) {
    await db.close();
    await created.drop();
    throw error;
  }
  return closingAlso(db, created.drop);
}

/**
 * `describe(`${name} [${engine}]`)` once per engine, with a fresh migrated database opened in
 * beforeAll and closed (and dropped) in afterAll; `db()` returns it inside hooks and tests.
 */
export function describeEachDatabase(
  name: string,
  suite: (db: () => Database, engine: DatabaseEngine) => void,
): void {
  for (const engine of DATABASE_ENGINES) {
    describe(`${name} [${engine}]`, () => {
      let current: Database | undefined;
      beforeAll(async () => {
        // PGlite from the worker's pool: a file's suites need an empty database, not a new open.
        current = engine === "pglite" ? await takePooledPglite() : await openTestDatabase(engine);
      });
      afterAll(async () => {
        await current?.close();
      });
      suite(() => {
        if (!current)
          throw new Error(`the ${engine} test database is not open (used outside a test or hook?)`);
        return current;
      }, engine);
    });
  }
}
