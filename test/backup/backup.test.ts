import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createBackup } from "../../src/backup/backup.js";
import { parseCopyRow, parseIdentList } from "../../src/backup/copy-text.js";
import { dumpDatabase } from "../../src/backup/dump.js";
import { restoreBackup, verifyBackup } from "../../src/backup/restore.js";
import { postgresConnection } from "../../src/store/shell.js";
import { openPostgres } from "../../src/store/postgres.js";
import { SCHEMA_VERSION } from "../../src/store/migrations.js";
import { createVault } from "../../src/vault/vault.js";
import { rejectedAppError } from "../support/app-error.js";
import { createPostgresDatabase, describeEachDatabase, postgresAdmin } from "../support/databases.js";
import {
  files,
  rewriteBackup,
  run,
  SECRETS,
  seedDatabase,
  seedVault,
  silentLogger,
  snapshot,
  wipe,
} from "./backup-support.js";

describeEachDatabase("backup and restore", (db, engine) => {
  let dir: string;
  let vaultDir: string;
  let backup: string;
  let seeded: Record<string, string[]>;
  let vaultFiles: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), `aixcl-backup-${engine}-`));
    vaultDir = join(dir, "vault");
    await seedDatabase(db(), "one");
    await seedVault(vaultDir);
    seeded = await snapshot(db());
    vaultFiles = await files(vaultDir);
    backup = join(dir, "first.tar");
    await createBackup({ db: db(), vaultDir, file: backup, aixclVersion: "test" });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a 0600 ustar archive that tar lists, without the vault key or any secret in clear", async () => {
    expect((await stat(backup)).mode & 0o777).toBe(0o600);
    const { stdout } = await run("tar", ["tf", backup]);
    const listed = stdout.trim().split("\n");
    expect(listed[0]).toBe("database.sql");
    expect(listed).toContain("vault/meta.json");
    expect(listed).toContain("vault/entries/admin.password.json");
    expect(listed).toContain("vault/entries/session.secret.json");
    expect(listed.slice(-2)).toEqual(["manifest.json", "manifest.json.sha256"]);
    expect(listed).not.toContain("vault/key");

    const bytes = await readFile(backup);
    for (const secret of Object.values(SECRETS)) expect(bytes.includes(Buffer.from(secret))).toBe(false);
    expect(bytes.includes(await readFile(join(vaultDir, "key")))).toBe(false);

    // GNU tar extracts what the manifest lists, byte for byte.
    const out = join(dir, "extracted");
    await run("mkdir", ["-p", out]);
    await run("tar", ["xf", backup, "-C", out]);
    const { stdout: check } = await run("sha256sum", ["-c", "manifest.json.sha256"], { cwd: out });
    expect(check.trim()).toBe("manifest.json: OK");
    const manifest = JSON.parse(await readFile(join(out, "manifest.json"), "utf8")) as {
      entries: { name: string; sha256: string }[];
      schema_version: number;
      engine: string;
    };
    expect(manifest.engine).toBe(engine);
    expect(manifest.schema_version).toBe(SCHEMA_VERSION);
    for (const entry of manifest.entries) {
      const { stdout: sum } = await run("sha256sum", [entry.name], { cwd: out });
      expect(sum.split(" ")[0]).toBe(entry.sha256);
    }
    const sql = await readFile(join(out, "database.sql"), "utf8");
    expect(sql).toMatch(
      /^COPY users \(id, username, password_hash, role, status, created_at, updated_at, last_login_at\) FROM stdin;$/m,
    );
    expect(sql).toMatch(/^COPY schema_migrations \(version, name, applied_at\) FROM stdin;$/m);
  });

  it("backup, wipe, restore: every row, sequence and vault file comes back identical", async () => {
    await wipe(db());
    await seedDatabase(db(), "after");
    const vault = createVault({ dir: vaultDir, logger: silentLogger() });
    await vault.unseal();
    await vault.delete("admin.password");
    await vault.set("session.secret", "replaced");
    await vault.set("other.entry", "new");
    await vault.close();
    const key = await readFile(join(vaultDir, "key"));

    const result = await restoreBackup({ db: db(), vaultDir, file: backup });
    expect(result.schemaVersion).toBe(SCHEMA_VERSION);
    expect(result.keptCurrentKey).toBe(true);
    expect(await snapshot(db())).toEqual(seeded);
    expect(await files(vaultDir)).toEqual({ ...vaultFiles, key: key.toString("hex") });
    expect((await stat(vaultDir)).mode & 0o777).toBe(0o700);

    const reopened = createVault({ dir: vaultDir, logger: silentLogger() });
    await reopened.unseal();
    expect(await reopened.get("admin.password")).toBe(SECRETS["admin.password"]);
    expect(await reopened.get("other.entry")).toBeUndefined();
    await reopened.close();

    // The identity sequence was put back too: new audit rows do not collide with restored ones.
    await db().query("INSERT INTO audit_log (actor, action) VALUES ('test', 'after.restore')");
    await db().query("DELETE FROM audit_log WHERE action = 'after.restore'");
  });

  it("the dump loads with psql -f into an empty PostgreSQL database and gives the same rows", async () => {
    const out = join(dir, "for-psql");
    await run("mkdir", ["-p", out]);
    await run("tar", ["xf", backup, "-C", out, "database.sql"]);
    const target = await createPostgresDatabase();
    try {
      const { env } = postgresConnection(target.url);
      await run(
        join(postgresAdmin().binDir, "psql"),
        ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", join(out, "database.sql")],
        { env: { PATH: process.env.PATH, ...env } },
      );
      const loaded = await openPostgres({ url: target.url, poolSize: 1 });
      try {
        expect(await snapshot(loaded)).toEqual(seeded);
      } finally {
        await loaded.close();
      }
    } finally {
      await target.drop();
    }
  });

  it("a backup with one byte changed anywhere is refused and nothing changes", async () => {
    await db().query("INSERT INTO settings (key, value) VALUES ('marker', '1')");
    const before = await snapshot(db());
    const vaultBefore = await files(vaultDir);
    const bytes = await readFile(backup);
    const at = (needle: string) => bytes.indexOf(Buffer.from(needle));
    const positions = {
      "a row of database.sql": at("'; DROP TABLE users; --"),
      "the first tar header": 10,
      "a header checksum": 148,
      "a vault entry": at('"ciphertext"') + 20,
      "the manifest": at('"created_at"') + 16,
      "the manifest digest": at("  manifest.json\n") - 3,
      "the padding after a file": at("-- aixcl database dump complete\n--\n") + 36,
      "the end-of-archive marker": bytes.length - 3,
    };
    for (const [where, offset] of Object.entries(positions)) {
      expect(offset, where).toBeGreaterThan(0);
      const damaged = Buffer.from(bytes);
      damaged[offset] = (damaged[offset] ?? 0) ^ 0x01;
      const file = join(dir, "damaged.tar");
      await writeFile(file, damaged);
      const error = await rejectedAppError(restoreBackup({ db: db(), vaultDir, file }));
      expect(["integrity_check_failed", "invalid_request"], `${where}: ${error.message}`).toContain(
        error.code,
      );
      expect(error.message).toMatch(/^(integrity check failed: |not a valid aixcl backup: )/);
      await rm(file);
    }
    expect(await snapshot(db())).toEqual(before);
    expect(await files(vaultDir)).toEqual(vaultBefore);
  });

  it("a restore that fails while loading rows rolls back: the database and the vault stay as they were", async () => {
    const before = await snapshot(db());
    const vaultBefore = await files(vaultDir);
    const broken = join(dir, "duplicate-row.tar");
    // Valid checksums, but a users row twice: the primary key refuses it halfway through the load.
    await rewriteBackup(backup, broken, (name, data) => {
      if (name !== "database.sql") return data;
      const text = data.toString("utf8");
      const start = text.indexOf("\n", text.indexOf("COPY users ")) + 1;
      const row = text.slice(start, text.indexOf("\n", start) + 1);
      return Buffer.from(text.slice(0, start) + row + text.slice(start));
    });
    await expect(restoreBackup({ db: db(), vaultDir, file: broken })).rejects.toThrow();
    expect(await snapshot(db())).toEqual(before);
    expect(await files(vaultDir)).toEqual(vaultBefore);
  });

  it("refuses a backup of a newer schema before touching anything", async () => {
    const newer = join(dir, "newer.tar");
    await rewriteBackup(
      backup,
      newer,
      (_, data) => data,
      (manifest) => {
        manifest.schema_version = 999;
      },
    );
    const error = await rejectedAppError(verifyBackup(newer));
    expect(error.code).toBe("schema_mismatch");
    expect(error.message).toContain("999");
  });

  it("--include-key puts the vault key in the archive, and restore puts it back", async () => {
    const withKey = join(dir, "with-key.tar");
    const key = await readFile(join(vaultDir, "key"));
    await createBackup({ db: db(), vaultDir, file: withKey, includeKey: true, aixclVersion: "test" });
    const { stdout } = await run("tar", ["tf", withKey]);
    expect(stdout.split("\n")).toContain("vault/key");
    await rm(vaultDir, { recursive: true });

    const result = await restoreBackup({ db: db(), vaultDir, file: withKey });
    expect(result.keptCurrentKey).toBe(false);
    expect(result.manifest.vault_key_included).toBe(true);
    expect(await readFile(join(vaultDir, "key"))).toEqual(key);
    const vault = createVault({ dir: vaultDir, logger: silentLogger() });
    await vault.unseal();
    expect(await vault.get("session.secret")).toBe(SECRETS["session.secret"]);
    await vault.close();
  });

  it("dumps one snapshot while writers keep committing", async () => {
    // Each writer transaction adds a setting and an audit row naming it. The dump reads audit_log
    // long before settings (foreign-key order, then name): only a single snapshot keeps them equal.
    let dumping = true;
    let written = 0;
    const writer = (async () => {
      while (dumping && written < 500) {
        const key = `concurrent-${written++}`;
        await db().transaction(async (tx) => {
          await tx.query("INSERT INTO settings (key, value) VALUES ($1, '1')", [key]);
          await tx.query("INSERT INTO audit_log (actor, action, target) VALUES ('t', 'concurrent', $1)", [
            key,
          ]);
        });
      }
    })();
    const chunks: string[] = [];
    try {
      await dumpDatabase(
        db(),
        async (chunk) => {
          chunks.push(chunk);
          await new Promise((resolve) => setTimeout(resolve, 2));
        },
        { aixclVersion: "test", batchRows: 1 },
      );
    } finally {
      dumping = false;
      await writer;
    }
    const blocks = copyBlocks(chunks.join(""));
    const settings = blocks
      .settings!.filter((row) => row.key?.startsWith("concurrent-"))
      .map((row) => row.key);
    const audited = blocks.audit_log!.filter((row) => row.action === "concurrent").map((row) => row.target);
    expect(audited.sort()).toEqual(settings.sort());
    if (engine === "postgres") expect(written).toBeGreaterThan(settings.length);
    await db().query("DELETE FROM settings WHERE key LIKE 'concurrent-%'");
    await db().query("DELETE FROM audit_log WHERE action = 'concurrent'");
  });

  it("never overwrites an existing file", async () => {
    const error = await rejectedAppError(
      createBackup({ db: db(), vaultDir, file: backup, aixclVersion: "test" }),
    );
    expect(error.code).toBe("conflict");
  });
});

/** The rows of every COPY block of a dump, as column → value. */
function copyBlocks(sql: string): Record<string, Record<string, string | null>[]> {
  const blocks: Record<string, Record<string, string | null>[]> = {};
  let current: { rows: Record<string, string | null>[]; columns: string[] } | undefined;
  for (const line of sql.split("\n")) {
    if (current) {
      if (line === "\\.") {
        current = undefined;
        continue;
      }
      const { columns } = current;
      const values = parseCopyRow(line, columns.length);
      current.rows.push(
        Object.fromEntries(values.map((value, i): [string, string | null] => [columns[i]!, value])),
      );
      continue;
    }
    const match = /^COPY (\S+) \((.*)\) FROM stdin;$/.exec(line);
    if (match) {
      current = { rows: [], columns: parseIdentList(match[2]!)! };
      blocks[match[1]!] = current.rows;
    }
  }
  return blocks;
}
