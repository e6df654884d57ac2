/**
 * Planner statistics on PGlite, which has no autovacuum (src/store/pglite-analyze.ts): a table
 * that grew by a fifth since its statistics is analyzed, one that did not is left alone, and the
 * background check started with the server does it without being asked.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { analyzeGrownTables, startAutoAnalyze } from "../../src/store/pglite-analyze.js";
import type { Database } from "../../src/store/types.js";
import { openTestDatabase } from "../support/databases.js";

let db: Database;

beforeAll(async () => {
  db = await openTestDatabase("pglite");
  await db.exec("CREATE TABLE growth (id integer, pad text)");
});

afterAll(async () => {
  await db?.close();
});

const addRows = (count: number) =>
  db.query("INSERT INTO growth SELECT i, repeat('x', 100) FROM generate_series(1, $1::int) AS i", [count]);

/** The row count the planner believes (-1: never analyzed). */
async function plannedRows(): Promise<number> {
  const { rows } = await db.query<{ rows: number }>(
    "SELECT reltuples::int AS rows FROM pg_class WHERE relname = 'growth'",
  );
  return rows[0]?.rows ?? Number.NaN;
}

it("analyzes a table that grew since its statistics, and only then", async () => {
  await addRows(5_000);
  expect(await plannedRows()).toBe(-1);
  expect(await analyzeGrownTables(db)).toContain("growth");
  expect(await plannedRows()).toBe(5_000);

  expect(await analyzeGrownTables(db)).not.toContain("growth");
  await addRows(100);
  expect(await analyzeGrownTables(db)).not.toContain("growth");
  expect(await plannedRows()).toBe(5_000);
});

it("keeps the statistics fresh in the background until stopped", async () => {
  const stop = startAutoAnalyze(db, silentLogger(), { firstAfterMs: 0, intervalMs: 50 });
  try {
    await addRows(5_000);
    await expect.poll(plannedRows).toBe(10_100);
  } finally {
    await stop();
  }
  await addRows(5_000);
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await plannedRows()).toBe(10_100);
});
