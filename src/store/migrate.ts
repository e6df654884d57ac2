import { AppError } from "../errors.js";
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from "./migrations.js";
import type { Database, Queryable } from "./types.js";

export interface MigrateResult {
  /** Schema version before. */
  from: number;
  /** Schema version now. */
  to: number;
  applied: { version: number; name: string }[];
}

const LOCK_KEY = 0x616978636c; // "aixcl": a fixed advisory-lock key so two starts never migrate at once

/**
 * Columns of the version table migrate() creates before the first migration. A dump writes the
 * table too (psql needs it to load the version rows), so both build it from this one definition.
 */
export const SCHEMA_MIGRATIONS_COLUMNS = `(
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`;

/** The schema version recorded in the database (0 for an empty database). */
export async function schemaVersion(db: Queryable): Promise<number> {
  const exists = await db.query<{ present: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS present",
  );
  if (!exists.rows[0]?.present) return 0;
  const result = await db.query<{ version: number | null }>(
    "SELECT max(version) AS version FROM schema_migrations",
  );
  return result.rows[0]?.version ?? 0;
}

/**
 * Applies the migrations the database lacks, each in its own transaction with its version row.
 * A database newer than this code is refused (`schema_mismatch`): running old code on a newer
 * schema could write rows the newer code does not expect.
 */
export async function migrate(
  db: Database,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrateResult> {
  const target = migrations[migrations.length - 1]?.version ?? SCHEMA_VERSION;
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1)", [LOCK_KEY]);
    // Under the lock: two sessions racing on CREATE TABLE IF NOT EXISTS both try to insert the
    // table's catalog rows, and one fails with a unique violation.
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations ${SCHEMA_MIGRATIONS_COLUMNS}`);
    const current =
      (await tx.query<{ version: number | null }>("SELECT max(version) AS version FROM schema_migrations"))
        .rows[0]?.version ?? 0;
    if (current > target) {
      throw new AppError(
        "schema_mismatch",
        `database schema version ${current} is newer than this aixcl (${target}); upgrade aixcl`,
      );
    }
    const applied: MigrateResult["applied"] = [];
    for (const migration of migrations) {
      if (migration.version <= current) continue;
      for (const statement of splitStatements(migration.sql)) await tx.query(statement);
      await tx.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
        migration.version,
        migration.name,
      ]);
      applied.push({ version: migration.version, name: migration.name });
    }
    return { from: current, to: Math.max(current, target), applied };
  });
}

/**
 * Splits a migration script on the semicolons that end statements (the scripts hold no
 * semicolons inside strings or bodies), so each runs through the transaction's `query`.
 */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.replace(/^\s*--.*$/gm, "").trim())
    .filter((statement) => statement.length > 0);
}
