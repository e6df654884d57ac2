import { spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { openDatabase } from "../../src/store/open.js";
import { openPglite, pgliteLockPath } from "../../src/store/pglite.js";
import { pgliteTemplateDir } from "../../src/store/pglite-template.js";
import { rejectedAppError } from "../support/app-error.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { TEST_PGLITE_BUFFERS_MB } from "../support/pglite-template-build.js";

/** The pid of a process that has exited (so nothing holds it). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  return Number(child.stdout);
}

describe("a PGlite data directory", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "aixcl-pglite-dir-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is created 0700 from the template, opened by one holder at a time, and keeps its rows across opens", async () => {
    const dataDir = join(dir, "db");
    const first = await openPglite({
      dataDir,
      template: pgliteTemplateDir(),
      sharedBuffersMb: TEST_PGLITE_BUFFERS_MB,
    });
    try {
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      expect((await readFile(pgliteLockPath(dataDir), "utf8")).trim()).toBe(String(process.pid));
      await first.exec("CREATE TABLE kept (v text); INSERT INTO kept VALUES ('still here')");
      // Its size is read from its directory (not through PGlite's file system): the same sum.
      const sized = async () => {
        const { rows } = await first.query<{ size: string }>(
          "SELECT pg_database_size(current_database())::text AS size",
        );
        return { files: await first.sizeBytes(), sql: Number(rows[0]?.size) };
      };
      const before = await sized();
      expect(before.files).toBe(before.sql);
      await first.exec(
        "CREATE TABLE bulk AS SELECT repeat('x', 500) AS v FROM generate_series(1, 5000); CHECKPOINT",
      );
      const after = await sized();
      expect(after.files).toBe(after.sql);
      expect(after.files).toBeGreaterThan(before.files + 2_000_000);

      const second = await rejectedAppError(openPglite({ dataDir }));
      expect(second.code).toBe("database_error");
      expect(second.message).toContain(dataDir);
      expect(second.message).toContain("in use");
      expect(second.message).toContain(String(process.pid));
    } finally {
      await first.close();
      await first.close();
    }
    await expect(stat(pgliteLockPath(dataDir))).rejects.toMatchObject({ code: "ENOENT" });

    // A lock left by a process that died (kill -9, crash) does not keep the database closed.
    await writeFile(pgliteLockPath(dataDir), `${deadPid()}\n`);
    const again = await openPglite({ dataDir, sharedBuffersMb: TEST_PGLITE_BUFFERS_MB });
    try {
      expect((await again.query<{ v: string }>("SELECT v FROM kept")).rows).toEqual([{ v: "still here" }]);
    } finally {
      await again.close();
    }
  });

  it("gets shared buffers sized to its database up to the configured amount, capped for a one-shot opener (a CLI command)", async () => {
    const home = join(dir, "buffers");
    await copyPgliteTemplate(join(home, "db"));
    const buffers = async (mb: number, oneShot: boolean): Promise<string> => {
      const config = loadConfig({
        flags: { home, "database.pglite_buffers_mb": mb },
        env: {},
        readFile: false,
      });
      const db = await openDatabase(config, { migrate: false, oneShot });
      try {
        return (
          (await db.query<{ shared_buffers: string }>("SHOW shared_buffers")).rows[0]?.shared_buffers ?? ""
        );
      } finally {
        await db.close();
      }
    };
    // A fresh home's database (under 8 MiB) gets its size, rounded up to 8 MiB.
    expect(await buffers(24, false)).toBe("8MB");
    expect(await buffers(2, false)).toBe("2MB");
    // A grown one gets its size (here 8 MiB of tables and a 40 MiB file, rounded up to 8 MiB
    // steps), never more than configured. PostgreSQL ignores a file no catalog names.
    const base = join(home, "db", "base");
    const sizes = await Promise.all(
      (await readdir(base)).map(async (name) => ({ name, files: (await readdir(join(base, name))).length })),
    );
    const largest = sizes.sort((a, b) => b.files - a.files)[0]!.name;
    await writeFile(join(base, largest, "999999"), "");
    await truncate(join(base, largest, "999999"), 40 * 2 ** 20);
    expect(await buffers(24, false)).toBe("24MB");
    expect(await buffers(128, false)).toBe("48MB");
    // A one-shot opener (a CLI command) gets few, whatever the size.
    expect(await buffers(128, true)).toBe("4MB");
    expect(await buffers(2, true)).toBe("2MB");
  });
});
