import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/migrations.js";
import { openPglite } from "../../src/store/pglite.js";
import { DATABASE_PASSWORD } from "../../src/platform/database-password.js";
import { createVault } from "../../src/vault/vault.js";
import { cliEnv, runCli } from "../cli/run-cli.js";
import { createPostgresDatabase, setRolePassword, type PostgresDatabase } from "../support/databases.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { TEST_PGLITE_BUFFERS_MB } from "../support/pglite-template-build.js";

const APPLIED_ALL = `schema version ${SCHEMA_VERSION} (applied: ${MIGRATIONS.map((m) => `${m.version} ${m.name}`).join("; ")})`;
const UP_TO_DATE = `schema version ${SCHEMA_VERSION} (applied: none, already up to date)`;

async function versions(url: string): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ version: number }>(
      "SELECT version FROM schema_migrations ORDER BY 1",
    );
    return result.rows.map((row) => row.version);
  } finally {
    await client.end();
  }
}

describe("aixcl db migrate on the embedded database", () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "aixcl-db-migrate-"));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it("migrates $AIXCL_HOME/db from zero, then finds nothing to do", async () => {
    // A cluster no migration ran on (a first start copies a migrated template instead: pglite-dir.test.ts).
    await copyPgliteTemplate(join(home, "db"), "blank");
    const first = await runCli(["db", "migrate"], cliEnv(home));
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout.trim()).toBe(APPLIED_ALL);
    expect((await stat(join(home, "db"))).isDirectory()).toBe(true);

    const again = await runCli(["db", "migrate", "--json"], cliEnv(home));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      engine: "pglite",
      from: SCHEMA_VERSION,
      to: SCHEMA_VERSION,
      applied: [],
    });
  });

  it("refuses clearly while another process holds the database, and a schema newer than the code", async () => {
    const dataDir = join(home, "db");
    const held = await openPglite({ dataDir, sharedBuffersMb: TEST_PGLITE_BUFFERS_MB });
    try {
      const locked = await runCli(["db", "migrate"], cliEnv(home));
      expect(locked.code).toBe(1);
      expect(locked.stdout).toBe("");
      expect(locked.stderr).toContain(
        `the database in ${dataDir} is in use by another process (pid ${process.pid}`,
      );
      expect(locked.stderr.trim().split("\n")).toHaveLength(1);
      await held.query("INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')");
    } finally {
      await held.close();
    }
    const newer = await runCli(["db", "migrate"], cliEnv(home));
    expect(newer.code).toBe(1);
    expect(newer.stderr).toContain(`database schema version 99 is newer than this aixcl (${SCHEMA_VERSION})`);
    const check = await openPglite({ dataDir, sharedBuffersMb: TEST_PGLITE_BUFFERS_MB });
    try {
      const rows = await check.query<{ version: number }>("SELECT version FROM schema_migrations ORDER BY 1");
      expect(rows.rows.map((row) => row.version)).toEqual([...MIGRATIONS.map((m) => m.version), 99]);
    } finally {
      await check.close();
    }
  });
});

describe("aixcl db migrate on a PostgreSQL server (AIXCL_DATABASE_URL)", () => {
  let home: string;
  let database: PostgresDatabase;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "aixcl-db-migrate-pg-"));
    database = await createPostgresDatabase();
  });
  afterAll(async () => {
    await database.drop();
    await rm(home, { recursive: true, force: true });
  });

  it("migrates the server's database once, without touching $AIXCL_HOME/db", async () => {
    const env = cliEnv(home, { AIXCL_DATABASE_URL: database.url });
    const first = await runCli(["db", "migrate", "--json"], env);
    expect(first.stderr).toBe("");
    expect(JSON.parse(first.stdout)).toEqual({
      engine: "postgres",
      from: 0,
      to: SCHEMA_VERSION,
      applied: MIGRATIONS.map((m) => ({ version: m.version, name: m.name })),
    });
    const again = await runCli(["db", "migrate"], env);
    expect(again.code).toBe(0);
    expect(again.stdout.trim()).toBe(UP_TO_DATE);
    expect(await versions(database.url)).toEqual(MIGRATIONS.map((m) => m.version));
    await expect(stat(join(home, "db"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("a wrong password fails with the server's reason and without the password", async () => {
    const url = new URL(database.url);
    const wrong = "Wr0ng-p@ss:w/rd?#%";
    url.password = encodeURIComponent(wrong);
    const result = await runCli(["db", "migrate"], cliEnv(home, { AIXCL_DATABASE_URL: url.href }));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("password authentication failed");
    expect(result.stderr + result.stdout).not.toContain(wrong);
    expect(result.stderr + result.stdout).not.toContain(encodeURIComponent(wrong));
  });

  it("a non-loopback URL without verify-full is refused as invalid configuration (exit 2)", async () => {
    const result = await runCli(
      ["db", "migrate"],
      cliEnv(home, { AIXCL_DATABASE_URL: "postgres://u:s3cr3t@db.example.com/aixcl" }),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("database.url");
    expect(result.stderr).not.toContain("s3cr3t");
  });

  it("with database.managed, connects with the vault's password once the URL's is stale", async () => {
    const managedHome = await mkdtemp(join(tmpdir(), "aixcl-db-migrate-managed-"));
    try {
      await writeFile(join(managedHome, "config.yaml"), "database:\n  managed: true\n");
      const env = cliEnv(managedHome, { AIXCL_DATABASE_URL: database.url });
      // First run: the vault is created and adopts the URL's password, as at the first start.
      expect((await runCli(["db", "migrate"], env)).code).toBe(0);

      // A rotation happened: the server and the vault have a new password, the URL the old one.
      const rotated = `rotated-${Date.now()}-p@ss:w/rd`;
      await setRolePassword(database.role, rotated);
      const vault = createVault({ dir: join(managedHome, "vault"), logger: silentLogger() });
      await vault.unseal();
      expect(await vault.get(DATABASE_PASSWORD)).toBe(database.password);
      await vault.set(DATABASE_PASSWORD, rotated);
      await vault.close();

      const unmanaged = await runCli(["db", "migrate"], cliEnv(home, { AIXCL_DATABASE_URL: database.url }));
      expect(unmanaged.code).toBe(1);
      const managed = await runCli(["db", "migrate"], env);
      expect(managed.stderr).toBe("");
      expect(managed.stdout.trim()).toBe(UP_TO_DATE);
    } finally {
      await setRolePassword(database.role, database.password);
      await rm(managedHome, { recursive: true, force: true });
    }
  });
});
