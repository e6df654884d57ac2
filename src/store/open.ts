import { databasePath } from "../config/load.js";
import { isLoopbackHost } from "../lib/addresses.js";
import type { Config } from "../config/schema.js";
import { AppError } from "../errors.js";
import { migrate } from "./migrate.js";
import { pgliteBuffersMb } from "./pglite-buffers.js";
import { pgliteTemplateDir } from "./pglite-template.js";
import type { Database } from "./types.js";

export interface OpenDatabaseOptions {
  /** Apply pending migrations (start, `aixcl db migrate`). Default true. */
  migrate?: boolean;
  /** Password for a managed role (from the vault), used instead of the URL's. */
  password?: () => string | Promise<string>;
  /**
   * A short-lived opener (a CLI command): PGlite's shared buffers are capped at
   * ONE_SHOT_BUFFERS_MB, since touching the configured amount costs more than its few queries.
   */
  oneShot?: boolean;
}

/**
 * PGlite shared buffers of a one-shot opener, MiB. Opening touches every page of PostgreSQL's
 * shared memory (~7 MiB plus the buffers), and each first touch of a page costs a page fault: an
 * open took ~0.6 s at 128, ~0.21 s at 16 and ~0.16 s at 4 (a copied template, repeated opens).
 */
const ONE_SHOT_BUFFERS_MB = 4;

/**
 * Checks an external database URL: a postgres:// URL whose non-loopback host uses
 * `sslmode=verify-full` (a password must never cross a network unencrypted or to an unverified
 * server). Returns the parsed URL.
 */
export function checkDatabaseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError("config_invalid", "invalid setting database.url: not a URL", {
      param: "database.url",
    });
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new AppError("config_invalid", "invalid setting database.url: must start with postgres://", {
      param: "database.url",
    });
  }
  // node-postgres keeps the last of a repeated parameter where URLSearchParams.get() reads the
  // first: `?sslmode=verify-full&sslmode=disable` would pass this check and connect in clear.
  const names = [...url.searchParams.keys()];
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) {
    throw new AppError(
      "config_invalid",
      `invalid setting database.url: parameter ${repeated} is given twice`,
      {
        param: "database.url",
      },
    );
  }
  // The host node-postgres will use: an empty `?host=` falls back to the URL's host name.
  const host = url.searchParams.get("host") || url.hostname;
  const local = host === "" || host.startsWith("/") || isLoopbackHost(host);
  if (!local && url.searchParams.get("sslmode") !== "verify-full") {
    throw new AppError(
      "config_invalid",
      `invalid setting database.url: ${url.hostname} is not a loopback address, so sslmode=verify-full is required`,
      { param: "database.url" },
    );
  }
  return url;
}

/**
 * Starts opening and migrating the configured database now when that needs nothing from the
 * vault (PGlite: no role password), so it runs while the server's own modules load: PGlite's
 * WASM compiles on V8's background threads, and its files are read on the thread pool. Resolves
 * once PGlite's module is loaded and the open is under way; undefined when there is nothing to
 * open early (profile core, or PostgreSQL). The caller owns the result.
 */
export async function openDatabaseEarly(
  config: Readonly<Config>,
): Promise<{ opening: Promise<Database> } | undefined> {
  if (config.profile === "core" || config.database.url !== undefined) return undefined;
  // PGlite's module before the server's: imported together, the server's large graph compiled
  // first and PGlite's WASM started ~0.3 s later.
  await import("./pglite.js");
  const opening = openDatabase(config);
  // Awaited (and its error reported) by whoever takes it; never an unhandled rejection here.
  opening.catch(() => undefined);
  return { opening };
}

/** Opens the configured database (PGlite unless `database.url` is set) and migrates it. */
export async function openDatabase(
  config: Readonly<Config>,
  options: OpenDatabaseOptions = {},
): Promise<Database> {
  let db: Database;
  if (config.database.url !== undefined) {
    checkDatabaseUrl(config.database.url);
    // Each driver loaded when used: a server or command without a database, or with the other
    // one, does not pay its start-up (PGlite ~40 ms, pg ~20 ms of module loading).
    const { openPostgres } = await import("./postgres.js");
    db = await openPostgres({
      url: config.database.url,
      poolSize: config.database.pool_size,
      ...(options.password ? { password: options.password } : {}),
    });
  } else {
    const configured = config.database.pglite_buffers_mb;
    const dataDir = databasePath(config);
    // Sized (a stat per file of the database, on the thread pool) while PGlite's module loads.
    const buffers =
      options.oneShot === true
        ? Promise.resolve(Math.min(configured, ONE_SHOT_BUFFERS_MB))
        : pgliteBuffersMb(dataDir, configured);
    buffers.catch(() => undefined);
    const { openPglite } = await import("./pglite.js");
    db = await openPglite({ dataDir, template: pgliteTemplateDir(), sharedBuffersMb: await buffers });
  }
  if (options.migrate !== false) {
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}

/**
 * `db` whose close() also runs `after` once the database is closed (even when closing it failed),
 * for what was opened with it: the vault holding a managed role's password, a test database to
 * drop. Idempotent like every close().
 */
export function closingAlso(db: Database, after: () => Promise<void>): Database {
  let closed: Promise<void> | undefined;
  return {
    engine: db.engine,
    query: db.query,
    transaction: (fn) => db.transaction(fn),
    exec: (sql) => db.exec(sql),
    sizeBytes: () => db.sizeBytes(),
    close() {
      closed ??= db.close().finally(after);
      return closed;
    },
  };
}

/**
 * Creates a PGlite cluster in `dataDir` (which must not hold one) and applies every migration:
 * the template a first start copies (pglite-template.ts), made by the build and by the tests.
 * A one-shot open: the small buffers take ~1.4 s off initdb, and the cluster's own setting
 * (postgresql.conf) stays the default, which each later open overrides with its own.
 */
export async function createPgliteTemplate(dataDir: string): Promise<void> {
  const { openPglite } = await import("./pglite.js");
  const db = await openPglite({ dataDir, sharedBuffersMb: ONE_SHOT_BUFFERS_MB });
  try {
    await migrate(db);
    // One at a time: DROP DATABASE refuses to run in the transaction a script is.
    for (const statement of DROP_TEMPLATE_DATABASES) await db.exec(statement);
  } finally {
    await db.close();
  }
}

/**
 * initdb's template databases exist for CREATE DATABASE, which aixcl never runs: it keeps
 * everything in `postgres` (a PGlite connection's and `aixcl db shell`'s database). They are 600
 * of a migrated cluster's ~1,000 files and 15 of its 39 MB, which every home's first start copies
 * (and every test database): a copy took 0.12–0.17 s of CPU instead of 0.35–0.41 s here.
 */
const DROP_TEMPLATE_DATABASES = [
  "ALTER DATABASE template0 IS_TEMPLATE false",
  "DROP DATABASE template0",
  "ALTER DATABASE template1 IS_TEMPLATE false",
  "DROP DATABASE template1",
];
