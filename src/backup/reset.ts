/**
 * Inside a restore's transaction: removes aixcl's schema objects and re-creates the schema a
 * backup was taken at from the migrations, so its rows load into exactly the shape they came from
 * (and later migrations then upgrade them like any old database).
 */
import { migrate } from "../store/migrate.js";
import { MIGRATIONS } from "../store/migrations.js";
import type { Database, Queryable } from "../store/types.js";

/**
 * A `Database` whose statements all run in the enclosing transaction `tx`: migrate() opens its
 * own transaction, which here becomes part of the restore's (PostgreSQL DDL is transactional).
 */
function withinTransaction(db: Database, tx: Queryable): Database {
  return {
    engine: db.engine,
    query: tx.query,
    transaction: (fn) => fn(tx),
    async exec(sql) {
      await tx.query(sql);
    },
    sizeBytes: () => db.sizeBytes(),
    close: async () => undefined,
  };
}

// Objects that belong to an extension are the extension's to manage: never dropped one by one.
const NOT_EXTENSION = (classId: string, alias: string) =>
  `NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = '${classId}'::regclass AND d.objid = ${alias}.oid AND d.deptype = 'e')`;

/** Drops every table, view, sequence, routine and type of the current schema (not the schema itself). */
async function dropSchemaObjects(tx: Queryable): Promise<void> {
  const relations = await tx.query<{ kind: string; ident: string }>(
    `SELECT c.relkind::text AS kind, quote_ident(c.relname) AS ident
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
        AND ${NOT_EXTENSION("pg_class", "c")}`,
  );
  const drops: [string, string[]][] = [
    ["TABLE", ["r", "p"]],
    ["MATERIALIZED VIEW", ["m"]],
    ["VIEW", ["v"]],
    ["SEQUENCE", ["S"]],
  ];
  for (const [what, kinds] of drops) {
    const names = relations.rows.filter((row) => kinds.includes(row.kind)).map((row) => row.ident);
    // Names come from quote_ident over the catalog; CASCADE and IF EXISTS cover what a previous
    // drop already took with it (owned sequences, dependent views, partitions).
    if (names.length > 0) await tx.query(`DROP ${what} IF EXISTS ${names.join(", ")} CASCADE`);
  }
  const routines = await tx.query<{ signature: string }>(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
      WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND ${NOT_EXTENSION("pg_proc", "p")}`,
  );
  for (const { signature } of routines.rows) await tx.query(`DROP ROUTINE IF EXISTS ${signature} CASCADE`);
  const types = await tx.query<{ kind: string; name: string }>(
    `SELECT t.typtype::text AS kind, t.oid::regtype::text AS name FROM pg_type t
      WHERE t.typnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
        AND t.typtype IN ('e', 'd', 'r', 'c')
        AND (t.typtype <> 'c' OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
        AND ${NOT_EXTENSION("pg_type", "t")}`,
  );
  for (const { kind, name } of types.rows) {
    await tx.query(`DROP ${kind === "d" ? "DOMAIN" : "TYPE"} IF EXISTS ${name} CASCADE`);
  }
}

/**
 * Replaces the current schema's objects with the schema of `version` (migrations 1..version),
 * with an empty schema_migrations table: the backup's own rows go in next.
 */
export async function resetSchema(db: Database, tx: Queryable, version: number): Promise<void> {
  await dropSchemaObjects(tx);
  await migrate(
    withinTransaction(db, tx),
    MIGRATIONS.filter((migration) => migration.version <= version),
  );
  await tx.query("DELETE FROM schema_migrations");
}

/** Applies the migrations newer than the restored data (still inside the restore's transaction). */
export async function migrateRestored(db: Database, tx: Queryable): Promise<number> {
  return (await migrate(withinTransaction(db, tx))).to;
}
