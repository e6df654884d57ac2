/**
 * What a dump and a restore need to know about aixcl's tables, read from the system catalog of the
 * current schema (the migrations create every table there, unqualified), so a table added by a
 * later migration is dumped and restored without a change here.
 */
import { AppError } from "../errors.js";
import type { Queryable } from "../store/types.js";

interface ColumnInfo {
  name: string;
  /** `quote_ident(name)`: as pg_dump writes it. */
  ident: string;
  /** `format_type(...)`: the type to cast text values to on restore. */
  type: string;
  /** Whether the column is `GENERATED ALWAYS AS IDENTITY` (inserts need OVERRIDING SYSTEM VALUE). */
  identityAlways: boolean;
  /** The column's owned sequence (serial or identity), as pg_get_serial_sequence names it. */
  sequence: string | null;
}

export interface TableInfo {
  oid: string;
  name: string;
  ident: string;
  /** Stored columns in table order (generated columns are left out, as pg_dump does). */
  columns: ColumnInfo[];
  /** Primary key columns, in key order (rows are dumped in this order, for stable dumps). */
  primaryKey: string[];
}

/** Base tables of the current schema, parents before the tables that reference them. */
export async function listTables(db: Queryable): Promise<TableInfo[]> {
  const tables = await db.query<{ oid: string; name: string; ident: string }>(
    `SELECT c.oid::text AS oid, c.relname AS name, quote_ident(c.relname) AS ident
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname`,
  );
  const result: TableInfo[] = [];
  for (const table of tables.rows) {
    const columns = await db.query<{
      name: string;
      ident: string;
      type: string;
      identity: string;
      sequence: string | null;
    }>(
      `SELECT a.attname AS name, quote_ident(a.attname) AS ident,
              format_type(a.atttypid, a.atttypmod) AS type, a.attidentity::text AS identity,
              pg_get_serial_sequence(quote_ident(c.relname), a.attname) AS sequence
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        ORDER BY a.attnum`,
      [table.oid],
    );
    const key = await db.query<{ name: string }>(
      `SELECT a.attname AS name
         FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
        WHERE i.indrelid = $1::oid AND i.indisprimary
        ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [table.oid],
    );
    result.push({
      ...table,
      columns: columns.rows.map((column) => ({
        name: column.name,
        ident: column.ident,
        type: column.type,
        identityAlways: column.identity === "a",
        sequence: column.sequence,
      })),
      primaryKey: key.rows.map((row) => row.name),
    });
  }
  return sortByForeignKeys(db, result);
}

/** Orders tables so each comes after the tables its foreign keys reference. */
async function sortByForeignKeys(db: Queryable, tables: TableInfo[]): Promise<TableInfo[]> {
  const edges = await db.query<{ child: string; parent: string }>(
    `SELECT conrelid::text AS child, confrelid::text AS parent
       FROM pg_constraint
      WHERE contype = 'f' AND connamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())`,
  );
  const parents = new Map<string, Set<string>>(tables.map((table) => [table.oid, new Set()]));
  for (const { child, parent } of edges.rows) {
    // A table referencing itself needs no ordering among tables.
    if (child !== parent && parents.has(parent)) parents.get(child)?.add(parent);
  }
  const ordered: TableInfo[] = [];
  const placed = new Set<string>();
  while (ordered.length < tables.length) {
    const ready = tables.filter(
      (table) => !placed.has(table.oid) && [...(parents.get(table.oid) ?? [])].every((p) => placed.has(p)),
    );
    if (ready.length === 0) {
      const cycle = tables.filter((table) => !placed.has(table.oid)).map((table) => table.name);
      throw new AppError("internal", `foreign keys form a cycle between tables ${cycle.join(", ")}`);
    }
    for (const table of ready) {
      ordered.push(table);
      placed.add(table.oid);
    }
  }
  return ordered;
}
