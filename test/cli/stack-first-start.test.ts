/**
 * The first `aixcl stack start` of an empty home (profile sys) with the compiled CLI, which ships
 * the migrated database template as `npm run build` does (test/support/global-setup.ts): the
 * database is a copy of that template, not a new cluster (initdb would give it a system identifier
 * of its own) holding only the database aixcl uses, every migration is applied, and the first
 * admin the start created can log in.
 */
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { openDatabase } from "../../src/store/open.js";
import { schemaVersion } from "../../src/store/migrate.js";
import { SCHEMA_VERSION } from "../../src/store/migrations.js";
import { postLogin } from "../support/auth-http.js";
import { runInProcess } from "../support/cli-in-process.js";
import { cliEnv, runCliProcess } from "./run-cli.js";

const aixclProcess = (args: string[], env: NodeJS.ProcessEnv) => runCliProcess(args, env, 90_000);

/** The cluster's system identifier: pg_control's first 8 bytes, chosen at random by initdb. */
async function systemIdentifier(dataDir: string): Promise<string> {
  const file = await open(join(dataDir, "global", "pg_control"));
  try {
    const { buffer } = await file.read(Buffer.alloc(8), 0, 8, 0);
    return buffer.toString("hex");
  } finally {
    await file.close();
  }
}

describe("aixcl stack start on an empty home", () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let pid: number | undefined;

  beforeAll(async () => {
    home = join(await mkdtemp(join(tmpdir(), "aixcl-first-start-")), "home");
    env = cliEnv(home, { AIXCL_THREADS: "1", AIXCL_PORT: "0" });
  });
  afterAll(async () => {
    if (pid !== undefined) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await rm(join(home, ".."), { recursive: true, force: true });
  });

  it("copies the migrated template (not initdb), and the first admin can log in", async () => {
    const start = await aixclProcess(["stack", "start", "--profile", "sys"], env);
    expect(start.code, start.stderr).toBe(0);
    pid = (JSON.parse(await readFile(join(home, "run", "stack.json"), "utf8")) as { pid: number }).pid;
    const url = /API:\s+(\S+)/.exec(start.stdout)?.[1] ?? "";

    const credentials = await runInProcess(["vault", "credentials"], env);
    expect(credentials.code, credentials.stderr).toBe(0);
    const password = /password:\s+(\S+)/.exec(credentials.stdout)?.[1] ?? "";
    expect((await postLogin(url, "admin", password)).status).toBe(200);
    expect((await postLogin(url, "admin", `${password}x`)).status).toBe(401);

    const stop = await aixclProcess(["stack", "stop"], env);
    expect(stop.code, stop.stderr).toBe(0);
    pid = undefined;
    expect(await systemIdentifier(join(home, "db"))).toBe(
      await systemIdentifier(inject("pgliteTemplate").dataDir),
    );
    const db = await openDatabase(loadConfig({ env }), { migrate: false, oneShot: true });
    try {
      expect(await schemaVersion(db)).toBe(SCHEMA_VERSION);
      // The one database aixcl uses: initdb's templates are not in the copy (src/store/open.ts).
      const databases = await db.query<{ datname: string }>("SELECT datname FROM pg_database");
      expect(databases.rows.map((row) => row.datname)).toEqual(["postgres"]);
    } finally {
      await db.close();
    }
  });
});
