import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { openDatabase } from "../../src/store/open.js";
import { migrate, schemaVersion } from "../../src/store/migrate.js";
import { MIGRATIONS, SCHEMA_VERSION, type Migration } from "../../src/store/migrations.js";
import { openPostgres } from "../../src/store/postgres.js";
import { rejectedAppError } from "../support/app-error.js";
import { createPostgresDatabase, describeEachDatabase } from "../support/databases.js";
import { publicTables, SCHEMA_TABLES } from "../support/schema-tables.js";

/** A next migration whose CREATE TABLE fails if it is ever applied twice. */
const NEXT: Migration = {
  version: SCHEMA_VERSION + 1,
  name: "test: next",
  sql: "CREATE TABLE migration_probe (id integer PRIMARY KEY);\nINSERT INTO migration_probe VALUES (1);",
};

describeEachDatabase("migrations", (db) => {
  it("brings a fresh database to the current version with every table", async () => {
    expect(SCHEMA_VERSION).toBe(7);
    expect(await schemaVersion(db())).toBe(SCHEMA_VERSION);
    expect(await publicTables(db())).toEqual(SCHEMA_TABLES);
    // Migration 4: a thinking model's reasoning, null for every other message.
    const thinking = await db().query<{ type: string; nullable: string }>(
      `SELECT data_type AS type, is_nullable AS nullable FROM information_schema.columns
        WHERE table_name = 'messages' AND column_name = 'thinking'`,
    );
    expect(thinking.rows).toEqual([{ type: "text", nullable: "YES" }]);
    // Migration 7: search reads each conversation's words; the GIN indexes of migrations 2 to 6
    // that returned every matching message are gone.
    const indexes = await db().query<{ name: string; definition: string }>(
      `SELECT indexname AS name, indexdef AS definition FROM pg_indexes
        WHERE tablename IN ('conversations', 'messages', 'conversation_terms') AND indexdef LIKE '%USING gin%'
           OR indexname = 'conversation_terms_search'`,
    );
    expect(indexes.rows.map((row) => row.name)).toEqual(["conversation_terms_search"]);
  });

  it("re-running is a no-op", async () => {
    const result = await migrate(db());
    expect(result).toEqual({ from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    const rows = await db().query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY 1");
    expect(rows.rows.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version));
  });

  it("refuses a database newer than the code and changes nothing", async () => {
    await db().query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
      99,
      "from the future",
    ]);
    try {
      const error = await rejectedAppError(migrate(db(), [...MIGRATIONS, NEXT]));
      expect(error.code).toBe("schema_mismatch");
      expect(error.message).toContain("99");
      expect(await publicTables(db())).not.toContain("migration_probe");
      expect(await schemaVersion(db())).toBe(99);
    } finally {
      await db().query("DELETE FROM schema_migrations WHERE version = 99");
    }
  });

  it("concurrent migrate calls apply a migration exactly once", async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => migrate(db(), [...MIGRATIONS, NEXT])));
    const applied = results.flatMap((result) => result.applied.map((a) => a.version));
    expect(applied).toEqual([NEXT.version]);
    expect((await db().query("SELECT id FROM migration_probe")).rows).toEqual([{ id: 1 }]);
    expect(await schemaVersion(db())).toBe(NEXT.version);
    // Back to the released schema for whatever runs after.
    await db().exec(
      `DROP TABLE migration_probe; DELETE FROM schema_migrations WHERE version = ${NEXT.version}`,
    );
  });
});

describe("migrations on the real server", () => {
  const drops: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const drop of drops) await drop();
  });

  it("several processes starting at once on an empty database migrate it once", async () => {
    const created = await createPostgresDatabase();
    drops.push(created.drop);
    // Separate pools: separate sessions, as two `aixcl serve` starting together would have.
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openPostgres({ url: created.url, poolSize: 2 })));
    try {
      const results = await Promise.all(dbs.map((db) => migrate(db)));
      expect(results.filter((result) => result.applied.length > 0)).toHaveLength(1);
      expect(await schemaVersion(dbs[0]!)).toBe(SCHEMA_VERSION);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it("openDatabase refuses a newer schema and leaves it as it was", async () => {
    const created = await createPostgresDatabase();
    drops.push(created.drop);
    const config = loadConfig({
      env: { HOME: "/nonexistent" },
      readFile: false,
      flags: { "database.url": created.url },
    });
    const first = await openDatabase(config);
    await first.query("INSERT INTO schema_migrations (version, name) VALUES (99, 'future')");
    await first.close();
    const error = await rejectedAppError(openDatabase(config));
    expect(error.code).toBe("schema_mismatch");
    const client = new pg.Client({ connectionString: created.url });
    await client.connect();
    try {
      const versions = await client.query<{ version: number }>(
        "SELECT version FROM schema_migrations ORDER BY 1",
      );
      expect(versions.rows.map((row) => row.version)).toEqual([...MIGRATIONS.map((m) => m.version), 99]);
    } finally {
      await client.end();
    }
  });
});
