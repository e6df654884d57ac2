/**
 * The tables the migrations create (src/store/migrations.ts), and the tables a database holds:
 * tests that a schema is complete, and that hostile input dropped or added none.
 */
import type { Queryable } from "../../src/store/types.js";

/** Every table of the current schema version, with the migrations' own bookkeeping table. */
export const SCHEMA_TABLES = [
  "api_keys",
  "audit_log",
  "conversation_terms",
  "conversations",
  "messages",
  "schema_migrations",
  "sessions",
  "settings",
  "users",
];

/** The tables of the public schema, sorted. */
export async function publicTables(db: Queryable): Promise<string[]> {
  const result = await db.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
  );
  return result.rows.map((row) => row.name);
}
