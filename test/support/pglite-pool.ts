/**
 * Open PGlite databases a test worker hands out again instead of opening a new one per test file:
 * an open costs ~0.6 s of CPU (1–1.5 s on two busy cores) and the suite's platforms and per-engine
 * suites opened ~100 of them. Files run one after another in a worker (vitest.config.ts, isolate
 * false), so a database a file is done with is emptied and kept for the next: every table but
 * `schema_migrations` truncated (identities restarted), the session's settings reset. One whose
 * tables or migrations no longer match the template's (a test changed the schema) is closed
 * instead. Tests of PGlite itself (its files, locks, closing under a platform) open their own.
 */
import { openPglite } from "../../src/store/pglite.js";
import type { Database } from "../../src/store/types.js";
import { TEST_PGLITE_BUFFERS_MB } from "./pglite-template-build.js";
import { pgliteTemplateDump } from "./pglite-template.js";

interface Pool {
  idle: Database[];
  /** The migrated template's tables and migrations, as `shape()` reads them. */
  template: Promise<string> | undefined;
}

const POOL = Symbol.for("aixcl.test.pglitePool");
const pool = ((globalThis as Record<symbol, unknown>)[POOL] ??= { idle: [], template: undefined }) as Pool;

/** The tables of the public schema and the applied migrations, as one comparable string. */
async function shape(db: Database): Promise<string> {
  const tables = await db.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  const versions = await db.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY 1");
  return JSON.stringify([tables.rows.map((row) => row.name), versions.rows.map((row) => row.version)]);
}

/**
 * A new in-memory PGlite database loaded from the run's template (its dump), which this run's
 * migrations made: nothing is left to migrate.
 */
export function openTemplatePglite(): Promise<Database> {
  return pgliteTemplateDump().then((dump) =>
    openPglite({ loadDataDir: dump, sharedBuffersMb: TEST_PGLITE_BUFFERS_MB }),
  );
}

async function openFresh(): Promise<Database> {
  const db = await openTemplatePglite();
  try {
    pool.template ??= shape(db);
    await pool.template;
  } catch (error) {
    await db.close();
    throw error;
  }
  return db;
}

/** Empties `db` for the next file; false when it no longer has the template's shape. */
async function reset(db: Database): Promise<boolean> {
  // A test that failed inside a transaction may have left it open.
  await db.query("ROLLBACK").catch(() => undefined);
  await db.query("RESET ALL");
  if ((await shape(db)) !== (await pool.template)) return false;
  const tables = await db.query<{ name: string }>(
    "SELECT format('%I', tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'",
  );
  await db.query(`TRUNCATE ${tables.rows.map((row) => row.name).join(", ")} RESTART IDENTITY CASCADE`);
  return true;
}

/**
 * A migrated, empty PGlite database (in memory) for one test file or platform. Its close() gives
 * it back to the worker's pool; any use after that throws.
 */
export async function takePooledPglite(): Promise<Database> {
  const db = pool.idle.pop() ?? (await openFresh());
  let released: Promise<void> | undefined;
  const live = () => {
    if (released) throw new Error("this test database was closed (given back to the worker's pool)");
    return db;
  };
  return {
    engine: db.engine,
    query: (sql, params) => live().query(sql, params),
    transaction: (fn) => live().transaction(fn),
    exec: (sql) => live().exec(sql),
    sizeBytes: () => live().sizeBytes(),
    close() {
      released ??= (async () => {
        const reusable = await reset(db).catch(() => false);
        if (reusable) pool.idle.push(db);
        else await db.close();
      })();
      return released;
    },
  };
}
