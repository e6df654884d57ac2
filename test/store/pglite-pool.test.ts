/**
 * The test workers' pool of open PGlite databases (test/support/pglite-pool.ts): every file gets
 * a database as empty as a new one, whoever had it before.
 */
import { describe, expect, it } from "vitest";
import { takePooledPglite } from "../support/pglite-pool.js";

const count = async (db: Awaited<ReturnType<typeof takePooledPglite>>, table: string) =>
  (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`)).rows[0]?.n;

describe("the test workers' PGlite pool", () => {
  it("hands a database back empty, identities restarted and settings reset, and refuses use after close", async () => {
    const first = await takePooledPglite();
    await first.query("INSERT INTO settings (key, value) VALUES ('pool-check', '1'::jsonb)");
    await first.query("INSERT INTO audit_log (actor, action) VALUES ('test', 'pool.check')");
    await first.query("SET statement_timeout = '1234ms'");
    await first.query("BEGIN");
    await first.close();
    expect(() => first.query("SELECT 1")).toThrow(/closed/);

    const second = await takePooledPglite();
    try {
      expect(await count(second, "settings")).toBe(0);
      expect(await count(second, "audit_log")).toBe(0);
      const { rows } = await second.query<{ id: number }>(
        "INSERT INTO audit_log (actor, action) VALUES ('test', 'pool.check') RETURNING id",
      );
      expect(Number(rows[0]?.id)).toBe(1);
      expect(
        (await second.query<{ statement_timeout: string }>("SHOW statement_timeout")).rows[0]
          ?.statement_timeout,
      ).toBe("0");
      expect(await count(second, "schema_migrations")).toBeGreaterThan(0);
    } finally {
      await second.close();
    }
  });

  it("closes a database whose schema a test changed instead of handing it out again", async () => {
    const changed = await takePooledPglite();
    await changed.query("CREATE TABLE pool_extra (id int)");
    await changed.close();
    const next = await takePooledPglite();
    try {
      expect(await next.query("SELECT to_regclass('pool_extra') AS t")).toMatchObject({
        rows: [{ t: null }],
      });
    } finally {
      await next.close();
    }
  });
});
