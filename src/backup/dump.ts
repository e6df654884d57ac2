/**
 * A logical dump of aixcl's database in pg_dump's plain format: `psql -f database.sql` loads it
 * into an empty PostgreSQL database. It holds the schema as the migrations define it (so psql
 * alone can load it), then every table's rows as `COPY … FROM stdin` blocks in foreign-key order,
 * then the identity sequences' positions. `aixcl db restore` re-creates the schema from its own
 * migrations and loads only the data and sequence lines.
 */
import { AppError } from "../errors.js";
import { SCHEMA_MIGRATIONS_COLUMNS, schemaVersion } from "../store/migrate.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../store/migrations.js";
import type { Database, Queryable } from "../store/types.js";
import { listTables, type TableInfo } from "./catalog.js";
import { copyRow, quoteIdent, quoteLiteral } from "./copy-text.js";

export interface DumpSummary {
  schemaVersion: number;
  tables: { name: string; rows: number }[];
}

export interface DumpOptions {
  /** Written into the dump's header comment. */
  aixclVersion: string;
  /** Rows fetched from the cursor at a time. Default 1000. */
  batchRows?: number;
}

/**
 * The output settings every value's text form depends on, fixed so a dump reads back the same
 * anywhere: UTC ISO timestamps, hex bytea, floats with all their digits.
 */
const SNAPSHOT_SETTINGS = [
  "SET LOCAL TimeZone = 'UTC'",
  "SET LOCAL DateStyle = 'ISO, YMD'",
  "SET LOCAL IntervalStyle = 'postgres'",
  "SET LOCAL extra_float_digits = 3",
  "SET LOCAL bytea_output = 'hex'",
];

const PREAMBLE = `SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;
`;

// The table migrate() creates before the first migration: psql needs it to load the
// schema_migrations rows; `aixcl db restore` lets migrate() create it.
const SCHEMA_MIGRATIONS_DDL = `CREATE TABLE schema_migrations ${SCHEMA_MIGRATIONS_COLUMNS};\n`;

/** The schema version a database records; refuses a database without aixcl's schema or a newer one. */
async function dumpableVersion(db: Queryable): Promise<number> {
  const version = await schemaVersion(db);
  if (version === 0) {
    throw new AppError("schema_mismatch", "the database holds no aixcl schema yet (run `aixcl db migrate`)");
  }
  if (version > SCHEMA_VERSION) {
    throw new AppError(
      "schema_mismatch",
      `database schema version ${version} is newer than this aixcl (${SCHEMA_VERSION}); upgrade aixcl`,
    );
  }
  return version;
}

/**
 * Writes the dump through `write`, inside one REPEATABLE READ READ ONLY transaction: every table
 * is read from the same snapshot while the server keeps running. Rows stream through a cursor.
 */
export async function dumpDatabase(
  db: Database,
  write: (chunk: string) => Promise<void>,
  options: DumpOptions,
): Promise<DumpSummary> {
  const batch = options.batchRows ?? 1000;
  return db.transaction(async (tx) => {
    await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    for (const setting of SNAPSHOT_SETTINGS) await tx.query(setting);
    const version = await dumpableVersion(tx);
    const tables = await listTables(tx);

    await write(
      `--\n-- aixcl database dump (pg_dump plain format): load with psql -f into an empty database\n` +
        `-- aixcl ${options.aixclVersion}, schema version ${version}, ${db.engine}\n--\n\n${PREAMBLE}\n`,
    );
    await write(`--\n-- Schema: migrations 1 to ${version}\n--\n\n${SCHEMA_MIGRATIONS_DDL}`);
    for (const migration of MIGRATIONS) {
      if (migration.version > version) break;
      await write(`\n-- Migration ${migration.version}: ${migration.name}\n${migration.sql.trim()}\n`);
    }
    await write(`\n--\n-- Data\n--\n\n`);

    const summary: DumpSummary = { schemaVersion: version, tables: [] };
    for (const table of tables) {
      summary.tables.push({ name: table.name, rows: await dumpTable(tx, table, write, batch) });
    }

    const sequences: string[] = [];
    for (const table of tables) {
      for (const column of table.columns) {
        if (column.sequence === null) continue;
        const last = await tx.query<{ value: string | null }>(
          "SELECT pg_sequence_last_value($1::regclass)::text AS value",
          [column.sequence],
        );
        const value = last.rows[0]?.value;
        // Null: the sequence was never used, and the migration creates it in that state.
        if (value === null || value === undefined) continue;
        sequences.push(
          `SELECT pg_catalog.setval(pg_catalog.pg_get_serial_sequence(${quoteLiteral(table.ident)}, ` +
            `${quoteLiteral(column.name)}), ${value}, true);\n`,
        );
      }
    }
    if (sequences.length > 0) await write(`--\n-- Sequences\n--\n\n${sequences.join("")}\n`);
    await write("--\n-- aixcl database dump complete\n--\n");
    return summary;
  });
}

async function dumpTable(
  tx: Queryable,
  table: TableInfo,
  write: (chunk: string) => Promise<void>,
  batch: number,
): Promise<number> {
  await write(`COPY ${table.ident} (${table.columns.map((c) => c.ident).join(", ")}) FROM stdin;\n`);
  // Each value as the server's own text output: exactly what COPY would write for it.
  const select = table.columns.map((c, i) => `${quoteIdent(c.name)}::text AS c${i}`).join(", ");
  const order = table.primaryKey.length > 0 ? ` ORDER BY ${table.primaryKey.map(quoteIdent).join(", ")}` : "";
  await tx.query(
    `DECLARE aixcl_dump NO SCROLL CURSOR FOR SELECT ${select} FROM ${quoteIdent(table.name)}${order}`,
  );
  let rows = 0;
  for (;;) {
    const result = await tx.query<Record<string, string | null>>(`FETCH ${batch} FROM aixcl_dump`);
    if (result.rows.length === 0) break;
    rows += result.rows.length;
    const lines = result.rows.map((row) => `${copyRow(table.columns.map((_, i) => row[`c${i}`] ?? null))}\n`);
    await write(lines.join(""));
  }
  await tx.query("CLOSE aixcl_dump");
  await write("\\.\n\n");
  return rows;
}
