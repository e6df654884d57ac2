import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { dumpDatabase } from "../../src/backup/dump.js";
import { lines, loadDump } from "../../src/backup/load.js";
import { postgresConnection } from "../../src/store/shell.js";
import { openPostgres } from "../../src/store/postgres.js";
import type { Database } from "../../src/store/types.js";
import { createPostgresDatabase, describeEachDatabase, postgresAdmin } from "../support/databases.js";
import { HOSTILE, run } from "./backup-support.js";

/**
 * Types aixcl's schema does not use yet, and identifiers that need quoting: the dump carries each
 * value as the server's text form, so any type a later migration adds must survive unchanged.
 */
const EXOTIC_TABLE = `CREATE TABLE "Exotic ""Types""" (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  "user" text,
  "Mixed Case" text,
  bin bytea,
  doc jsonb,
  raw json,
  tags text[],
  grid integer[],
  at timestamptz,
  local_at timestamp,
  day date,
  span interval,
  amount numeric,
  ratio double precision,
  flag boolean,
  uid uuid,
  addr inet,
  doubled integer GENERATED ALWAYS AS (length("user") * 2) STORED
)`;

// Values go in as text and are cast by the server (PGlite would otherwise serialize each
// parameter by its inferred type, and the point is to start from the server's own parsing).
const VALUES = `(
  $1, $2, $3::text::bytea, $4::text::jsonb, $5::text::json, $6::text[], $7::text::integer[], $8::text::timestamptz,
  $9::text::timestamp, $10::text::date, $11::text::interval, $12::text::numeric, $13::text::double precision,
  $14::boolean, $15::text::uuid, $16::text::inet)`;

const ROWS: unknown[][] = [
  [
    HOSTILE[0],
    HOSTILE[2],
    "\\x00ff5c0a0d09275c2e",
    JSON.stringify({ text: HOSTILE[3], nested: { emoji: "😀", list: [1, 2.5, null, true, "\\."] } }),
    '{ "b" : 1,  "a" : [ "kept as typed" ], "b": 2 }',
    ["a,b", 'c"d', "{braces}", "back\\slash", "", "NULL", null, HOSTILE[2]],
    "{{1,2},{3,4}}",
    "2024-02-29 23:59:59.123456+05:30",
    "1999-12-31 23:59:59.999999",
    "infinity",
    "1 year 2 mons 3 days 04:05:06.789",
    "12345678901234567890.123456789012345678901234567890",
    "0.30000000000000004",
    true,
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "::ffff:10.0.0.1/128",
  ],
  [
    HOSTILE[1],
    "\\N",
    "\\x",
    "[]",
    "null",
    [],
    "{}",
    null,
    null,
    "-infinity",
    "-00:00:01",
    "NaN",
    "-Infinity",
    false,
    null,
    "10.1.2.3",
  ],
  [null, null, null, null, null, null, null, null, null, null, null, null, "NaN", null, null, null],
  [
    "",
    "",
    "\\x5c4e",
    '"\\\\N"',
    '"\\u00e9"',
    ["\\N"],
    null,
    "epoch",
    "epoch",
    "2000-01-01",
    "0",
    "-0.0",
    "-0",
    null,
    null,
    null,
  ],
];

/** The table's rows as text, timestamps in UTC whatever the connection's time zone. */
async function exoticRows(db: Database): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.query("SET LOCAL TimeZone = 'UTC'");
    const { rows } = await tx.query<{ row: string }>(
      `SELECT (t.*)::text AS row FROM "Exotic ""Types""" t ORDER BY id`,
    );
    return rows.map((r) => r.row);
  });
}

async function dumpToString(db: Database): Promise<string> {
  const chunks: string[] = [];
  await dumpDatabase(db, async (chunk) => void chunks.push(chunk), { aixclVersion: "test", batchRows: 2 });
  return chunks.join("");
}

describeEachDatabase("dump of every value type", (db, engine) => {
  let before: string[];
  let sql: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `aixcl-dump-${engine}-`));
    await db().query(EXOTIC_TABLE);
    for (const row of ROWS) {
      await db().query(
        `INSERT INTO "Exotic ""Types""" ("user", "Mixed Case", bin, doc, raw, tags, grid, at,
        local_at, day, span, amount, ratio, flag, uid, addr) VALUES ${VALUES}`,
        row,
      );
    }
    before = await exoticRows(db());
    sql = await dumpToString(db());
  });
  afterAll(async () => {
    await db().query(`DROP TABLE IF EXISTS "Exotic ""Types"""`);
    await rm(dir, { recursive: true, force: true });
  });

  it("quotes identifiers as pg_dump does and leaves generated columns out", () => {
    expect(sql).toContain(
      `COPY "Exotic ""Types""" (id, "user", "Mixed Case", bin, doc, raw, tags, grid, at, local_at, day, span, amount, ratio, flag, uid, addr) FROM stdin;`,
    );
    expect(sql).toMatch(
      /^SELECT pg_catalog\.setval\(pg_catalog\.pg_get_serial_sequence\('"Exotic ""Types"""', 'id'\), 4, true\);$/m,
    );
  });

  it("loads back every value exactly, through batches smaller than the table", async () => {
    await db().transaction(async (tx) => {
      await tx.query(`TRUNCATE "Exotic ""Types""", schema_migrations RESTART IDENTITY`);
      // Only this table and schema_migrations hold rows: the dump of the other (empty) tables loads nothing.
      const summary = await loadDump(tx, lines(toChunks(sql)));
      expect(summary.tables.find((t) => t.name === 'Exotic "Types"')?.rows).toBe(ROWS.length);
    });
    expect(await exoticRows(db())).toEqual(before);
    const next = await db().query<{ id: number }>(
      `INSERT INTO "Exotic ""Types""" ("user") VALUES ('after') RETURNING id`,
    );
    expect(next.rows[0]?.id).toBe(ROWS.length + 1);
    await db().query(`DELETE FROM "Exotic ""Types""" WHERE "user" = 'after'`);
  });

  it("psql -f loads the same values into a real PostgreSQL server", async () => {
    const file = join(dir, "database.sql");
    await writeFile(file, sql);
    const target = await createPostgresDatabase();
    try {
      const loaded = await openPostgres({ url: target.url, poolSize: 1 });
      try {
        // The dump's schema is the migrations'; a table outside them has to exist already.
        await loaded.query(EXOTIC_TABLE);
        const { env } = postgresConnection(target.url);
        await run(join(postgresAdmin().binDir, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", file], {
          env: { PATH: process.env.PATH, ...env },
        });
        expect(await exoticRows(loaded)).toEqual(before);
      } finally {
        await loaded.close();
      }
    } finally {
      await target.drop();
    }
  });
});

/** The dump in awkward pieces: chunk borders fall inside rows and inside multi-byte characters. */
async function* toChunks(text: string): AsyncGenerator<Buffer> {
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += 7) yield bytes.subarray(at, at + 7);
}
