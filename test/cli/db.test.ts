import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBackup } from "../../src/backup/backup.js";
import { migrate } from "../../src/store/migrate.js";
import { openPglite } from "../../src/store/pglite.js";
import { openPostgres } from "../../src/store/postgres.js";
import type { Database } from "../../src/store/types.js";
import { silentLogger } from "../../src/logger.js";
import { DATABASE_PASSWORD } from "../../src/platform/database-password.js";
import { createVault } from "../../src/vault/vault.js";
import { openTemplatePglite } from "../support/pglite-pool.js";
import { TEST_PGLITE_BUFFERS_MB } from "../support/pglite-template-build.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { createPostgresDatabase, setRolePassword, type PostgresDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { files, run, SECRETS, seedDatabase, seedVault, snapshot, wipe } from "../backup/backup-support.js";
import { cliEnv, runCli, runCliWithInput } from "./run-cli.js";
import { MIGRATIONS, SCHEMA_VERSION } from "../../src/store/migrations.js";

/** psql's aligned output of `SELECT count(*) …` answering `n`. */
const countOutput = (n: number) => new RegExp(`count\\s*\\n-+\\n\\s*${n}\\n\\(1 row\\)`);

interface Engine {
  name: "pglite" | "postgres";
  /** Opens the database the CLI of `home` uses (PGlite: only while no CLI process has it open). */
  open(home: string): Promise<Database>;
  env(home: string): NodeJS.ProcessEnv;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
}

let server: PostgresDatabase | undefined;
const ENGINES: Engine[] = [
  {
    name: "pglite",
    open: (home) => openPglite({ dataDir: join(home, "db"), sharedBuffersMb: TEST_PGLITE_BUFFERS_MB }),
    env: (home) => cliEnv(home),
    setUp: async () => undefined,
    tearDown: async () => undefined,
  },
  {
    name: "postgres",
    open: () => openPostgres({ url: server!.url, poolSize: 2 }),
    env: (home) => cliEnv(home, { AIXCL_DATABASE_URL: server!.url }),
    setUp: async () => {
      server = await createPostgresDatabase();
    },
    tearDown: async () => {
      await server?.drop();
    },
  },
];

for (const engine of ENGINES) {
  describe(`aixcl db backup|restore|shell [${engine.name}]`, () => {
    let home: string;
    let env: NodeJS.ProcessEnv;
    let seeded: Record<string, string[]>;
    let vaultFiles: Record<string, string>;
    let backup: string;

    beforeAll(async () => {
      await engine.setUp();
      home = await mkdtemp(join(tmpdir(), `aixcl-cli-db-${engine.name}-`));
      // A copy of the run's migrated template: this file tests backup, restore and shell.
      if (engine.name === "pglite") await copyPgliteTemplate(join(home, "db"));
      env = engine.env(home);
      const db = await engine.open(home);
      try {
        await migrate(db);
        await seedDatabase(db, "cli");
        seeded = await snapshot(db);
      } finally {
        await db.close();
      }
      await seedVault(join(home, "vault"));
      vaultFiles = await files(join(home, "vault"));
      backup = join(home, "backup.tar");
    });
    afterAll(async () => {
      await rm(home, { recursive: true, force: true });
      await engine.tearDown();
    });

    it("db backup writes a 0600 archive of the database and the vault, without the key", async () => {
      const result = await runCli(["db", "backup", backup], env);
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toContain(
        `backup written to ${backup} (${engine.name}, schema version ${SCHEMA_VERSION},`,
      );
      expect(result.stdout).toContain("vault key not included");
      expect((await stat(backup)).mode & 0o777).toBe(0o600);
      const { stdout } = await run("tar", ["tf", backup]);
      expect(stdout.split("\n")).toEqual(
        expect.arrayContaining(["database.sql", "vault/meta.json", "manifest.json"]),
      );
      expect(stdout).not.toMatch(/^vault\/key$/m);
      const bytes = await readFile(backup);
      for (const secret of Object.values(SECRETS)) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    });

    it("db shell runs psql on the database (statements from stdin)", async () => {
      const result = await runCliWithInput(["db", "shell"], env, "SELECT count(*) FROM users;\n");
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(countOutput(2));
    });

    it("db restore needs --yes without a terminal, then brings everything back", async () => {
      const db = await engine.open(home);
      try {
        await wipe(db);
      } finally {
        await db.close();
      }
      await rm(join(home, "vault", "entries"), { recursive: true });

      const refused = await runCli(["db", "restore", backup], env);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("add --yes to confirm");

      const result = await runCli(["db", "restore", backup, "--yes"], env);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(
        new RegExp(
          `^restored .*backup\\.tar \\(taken .*\\): \\d+ rows in 9 tables, 3 vault files; schema version ${SCHEMA_VERSION}\n$`,
        ),
      );
      expect(result.stderr).toContain("the key already in place was kept");
      if (engine.name === "postgres")
        expect(result.stderr).toContain("restart any aixcl server using this database");

      const after = await engine.open(home);
      try {
        expect(await snapshot(after)).toEqual(seeded);
      } finally {
        await after.close();
      }
      expect(await files(join(home, "vault"))).toEqual(vaultFiles);
    });

    it("db restore refuses a damaged archive before touching the database", async () => {
      const bytes = await readFile(backup);
      const at = bytes.indexOf(Buffer.from("COPY messages")) + 2;
      bytes[at] = (bytes[at] ?? 0) ^ 0x20;
      const damaged = join(home, "damaged.tar");
      await writeFile(damaged, bytes);
      const result = await runCli(["db", "restore", damaged, "--yes"], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^aixcl: integrity check failed: database\.sql in the backup does not match/,
      );
      const db = await engine.open(home);
      try {
        expect(await snapshot(db)).toEqual(seeded);
      } finally {
        await db.close();
      }
    });
  });
}

describe("aixcl db with a server running on the embedded database", () => {
  let platform: TestPlatform;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    platform = await startTestPlatform();
    env = cliEnv(platform.home, { AIXCL_PORT: String(platform.port) });
  });
  afterAll(async () => {
    await platform.close();
  });

  it("restore and shell refuse: stop the server first; so does backup --include-key", async () => {
    // A valid backup (of another database) to offer restore.
    const valid = join(platform.home, "valid.tar");
    const other = await openTemplatePglite();
    try {
      await createBackup({
        db: other,
        vaultDir: join(platform.home, "no-vault"),
        file: valid,
        aixclVersion: "test",
      });
    } finally {
      await other.close();
    }
    for (const args of [
      ["db", "restore", valid, "--yes"],
      ["db", "shell"],
    ]) {
      const result = await runCli(args, env);
      expect(result.code, args.join(" ")).toBe(1);
      expect(result.stderr, args.join(" ")).toMatch(/stop the server first/);
    }
    // The server never sends the key file, and only the server may open the database.
    const file = join(platform.home, "never.tar");
    const withKey = await runCli(["db", "backup", file, "--include-key"], env);
    expect(withKey.code).toBe(1);
    expect(withKey.stderr).toMatch(/^aixcl: --include-key needs the server stopped .*copy of vault\/key/);
    await expect(stat(file)).rejects.toThrow();
  });
});

describe("aixcl db with a managed PostgreSQL role (database.managed)", () => {
  it("restore keeps the role's current password in the vault; shell connects with it", async () => {
    const database = await createPostgresDatabase();
    const home = await mkdtemp(join(tmpdir(), "aixcl-cli-db-managed-"));
    try {
      await writeFile(join(home, "config.yaml"), "database:\n  managed: true\n");
      const env = cliEnv(home, { AIXCL_DATABASE_URL: database.url });
      // The vault adopts the URL's password (as at the first start); the backup holds that one.
      expect((await runCli(["db", "migrate"], env)).code).toBe(0);
      const backup = join(home, "managed.tar");
      expect((await runCli(["db", "backup", backup], env)).code).toBe(0);

      // A rotation after the backup: the server and the vault have a new password, the URL the old one.
      const rotated = `rotated-${Date.now()}-p@ss:w/rd'"`;
      await setRolePassword(database.role, rotated);
      const vault = createVault({ dir: join(home, "vault"), logger: silentLogger() });
      await vault.unseal();
      await vault.set(DATABASE_PASSWORD, rotated);
      await vault.close();

      const restored = await runCli(["db", "restore", backup, "--yes"], env);
      expect(restored.stderr).not.toContain(rotated);
      expect(restored.code).toBe(0);
      const after = createVault({ dir: join(home, "vault"), logger: silentLogger() });
      await after.unseal();
      expect(await after.get(DATABASE_PASSWORD)).toBe(rotated);
      await after.close();

      const shell = await runCliWithInput(["db", "shell"], env, "SELECT count(*) FROM schema_migrations;\n");
      expect(shell.stderr).toBe("");
      expect(shell.stdout).toMatch(countOutput(MIGRATIONS.length));
    } finally {
      await rm(home, { recursive: true, force: true });
      await database.drop();
    }
  });
});

describe("aixcl db on an embedded database another process holds", () => {
  it("backup and shell refuse without touching it", async () => {
    const home = await mkdtemp(join(tmpdir(), "aixcl-cli-held-"));
    // A copy of the run's migrated template (test/support/pglite-template.ts): this is about the lock.
    await copyPgliteTemplate(join(home, "db"));
    const held = await openPglite({ dataDir: join(home, "db"), sharedBuffersMb: TEST_PGLITE_BUFFERS_MB });
    try {
      for (const args of [
        ["db", "backup", join(home, "never.tar")],
        ["db", "shell"],
      ]) {
        const result = await runCli(args, cliEnv(home));
        expect(result.code, args.join(" ")).toBe(1);
        expect(result.stderr, args.join(" ")).toContain(`is in use by another process (pid ${process.pid}`);
      }
      expect((await held.query("SELECT count(*)::int AS n FROM schema_migrations")).rows).toEqual([
        { n: MIGRATIONS.length },
      ]);
    } finally {
      await held.close();
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe("aixcl db shell without psql", () => {
  it("names the package to install", async () => {
    const home = await mkdtemp(join(tmpdir(), "aixcl-cli-nopsql-"));
    try {
      const result = await runCli(["db", "shell"], { ...cliEnv(home), PATH: "/nonexistent" });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("psql not found");
      expect(result.stderr).toContain("postgresql-client");
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
