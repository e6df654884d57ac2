/**
 * `aixcl users add|list|rm|passwd|role|activate` on the database directly (no server; PGlite in
 * the home and a real PostgreSQL server by AIXCL_DATABASE_URL) and through a running server's
 * admin API with the local token, where a password or role change also ends the user's sessions
 * in that server. Passwords come from stdin or a file, never argv.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserWire } from "../../src/api/users-client.js";
import { verifyPassword } from "../../src/auth/passwords.js";
import { createUser } from "../../src/auth/users.js";
import { listAudit } from "../../src/store/audit.js";
import type { Database, DatabaseEngine } from "../../src/store/types.js";
import { findUserCredentials } from "../../src/store/users.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { postLogin } from "../support/auth-http.js";
import {
  createPostgresDatabase,
  withConfiguredDatabase,
  type PostgresDatabase,
} from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { cliEnv, closedPort, runCli, runCliWithInput, type CliResult } from "./run-cli.js";

function ok(result: CliResult): string {
  expect(result.stderr).not.toMatch(/aixcl:/);
  expect(result.code).toBe(0);
  return result.stdout;
}

const listed = (result: CliResult): UserWire[] => JSON.parse(ok(result)) as UserWire[];

/**
 * The direct path: every command on PostgreSQL (fast to open), and the commands' round trip on
 * PGlite too, where each CLI process opens and locks the home's data directory.
 */
for (const engine of ["postgres", "pglite"] as DatabaseEngine[]) {
  const full = engine === "postgres";
  describe(`aixcl users without a server [${engine}]`, () => {
    let home: string;
    let env: NodeJS.ProcessEnv;
    let postgres: PostgresDatabase | undefined;
    const users = (...args: string[]) => runCli(["users", ...args], env);
    const withInput = (input: string, ...args: string[]) => runCliWithInput(["users", ...args], env, input);
    /** Opens the configured database (only while no CLI runs: PGlite allows one process at a time). */
    const withDb = <T>(fn: (db: Database) => Promise<T>): Promise<T> =>
      withConfiguredDatabase(postgres ? { home, "database.url": postgres.url } : { home }, fn);

    beforeAll(async () => {
      home = await mkdtemp(join(tmpdir(), "aixcl-users-cli-"));
      // A copy of the run's migrated template: this file tests the CLI, not a first start.
      if (engine === "postgres") postgres = await createPostgresDatabase();
      else await copyPgliteTemplate(join(home, "db"));
      env = cliEnv(home, {
        AIXCL_PORT: String(await closedPort()),
        ...(postgres ? { AIXCL_DATABASE_URL: postgres.url } : {}),
      });
    });
    afterAll(async () => {
      await postgres?.drop();
      await rm(home, { recursive: true, force: true });
    });

    if (!full)
      it("adds, lists, changes and removes users on the home's PGlite database", async () => {
        ok(await withInput("root-password-1\n", "add", "root", "--role", "admin", "--password-stdin"));
        const file = join(home, "alice.pw");
        await writeFile(file, "alice-password-1\n", { mode: 0o600 });
        expect(ok(await users("add", "alice", "--password-file", file))).toBe("created user alice\n");
        ok(await withInput("alice-password-2\n", "passwd", "alice"));
        expect(ok(await users("role", "alice", "admin"))).toBe("alice is now admin\n");
        ok(await users("rm", "root"));
        expect(listed(await users("list", "--json")).map((u) => [u.username, u.role])).toEqual([
          ["alice", "admin"],
        ]);
        await withDb(async (db) => {
          const alice = await findUserCredentials(db, "alice");
          expect(await verifyPassword(alice?.passwordHash, "alice-password-2")).toBe(true);
        });
      });

    if (full)
      it("adds users with a password from stdin or a file, and lists them", async () => {
        expect(
          ok(await withInput("root-password-1\n", "add", "root", "--role", "admin", "--password-stdin")),
        ).toBe("created admin root\n");
        const file = join(home, "alice.pw");
        await writeFile(file, "alice-password-1\n");
        await chmod(file, 0o600);
        expect(ok(await users("add", "Alice", "--password-file", file))).toBe("created user Alice\n");
        // stdin that is not a terminal is read without the flag too.
        ok(await withInput("carol-password-1", "add", "carol"));

        const all = listed(await users("list", "--json"));
        expect(all.map((u) => [u.username, u.role, u.status])).toEqual([
          ["Alice", "user", "active"],
          ["carol", "user", "active"],
          ["root", "admin", "active"],
        ]);
        const text = ok(await users("list"));
        expect(text).toMatch(/^USERNAME\s+ROLE\s+STATUS\s+CREATED\n/);
        expect(text).toContain("root");
        expect(text).not.toContain("argon2");
      });

    if (full)
      it("refuses bad names (exit 2), passwords on argv, duplicates and weak passwords", async () => {
        for (const bad of ["bad name", "../x", "'; DROP TABLE users; --", "--insecure", ".hidden"]) {
          const result = await withInput("whatever-password", "add", "--password-stdin", "--", bad);
          expect(result.code, `${bad}: ${result.stderr}`).toBe(2);
        }
        expect((await users("add", "eve", "--password", "eve-password-1")).code).toBe(2);
        const duplicate = await withInput("other-password-1", "add", "ALICE");
        expect(duplicate.code).toBe(1);
        expect(duplicate.stderr).toContain("already exists");
        const weak = await withInput("short", "add", "weakling");
        expect(weak.code).toBe(1);
        expect(weak.stderr).toContain("at least 8");
        expect((await withInput("", "add", "nopass")).code).toBe(1);
        expect(listed(await users("list", "--json")).map((u) => u.username)).toEqual([
          "Alice",
          "carol",
          "root",
        ]);
      });

    if (full)
      it("changes passwords and roles, removes users, and refuses to remove the last admin", async () => {
        const changed = await withInput("alice-password-2\n", "passwd", "alice");
        expect(changed.code, changed.stderr).toBe(0);
        expect(changed.stderr).toContain("sessions have ended");
        expect(ok(await users("role", "alice", "admin"))).toBe("Alice is now admin\n");
        expect((await users("role", "alice", "owner")).code).toBe(2);
        ok(await users("rm", "carol"));
        const missing = await users("rm", "carol");
        expect(missing.code).toBe(1);
        expect(missing.stderr).toContain("not found");

        ok(await users("role", "alice", "user"));
        const last = await users("rm", "root");
        expect(last.code).toBe(1);
        expect(last.stderr).toContain("last active admin");

        await withDb(async (db) => {
          const alice = await findUserCredentials(db, "alice");
          expect(await verifyPassword(alice?.passwordHash, "alice-password-2")).toBe(true);
          expect(alice?.user.role).toBe("user");
          const audit = await listAudit(db, { limit: 100 });
          expect(audit.filter((e) => e.actor === "cli").map((e) => e.action)).toEqual(
            expect.arrayContaining(["user.add", "user.passwd", "user.role", "user.remove"]),
          );
          expect(JSON.stringify(audit)).not.toContain("alice-password");
        });
      });
  });
}

describe("aixcl users through a running server (local token)", () => {
  let platform: TestPlatform;
  let env: NodeJS.ProcessEnv;
  const users = (...args: string[]) => runCli(["users", ...args], env);
  const login = (username: string, password: string) => postLogin(platform.url, username, password);
  const me = async (cookie: string | undefined) =>
    (await fetch(`${platform.url}/api/auth/me`, { headers: cookie ? { Cookie: cookie } : {} })).status;

  beforeAll(async () => {
    platform = await startTestPlatform();
    env = cliEnv(platform.home, { AIXCL_PORT: String(platform.port) });
    await createUser(platform.deps.db!, { username: "root", password: "root-password-1", role: "admin" });
  });
  afterAll(async () => {
    await platform?.close();
  });

  it("adds, lists, changes and removes users in the server's database while it holds it open", async () => {
    const added = await runCliWithInput(
      ["users", "add", "dave", "--password-stdin"],
      env,
      "dave-password-1\n",
    );
    expect(added.code, added.stderr).toBe(0);
    const db = platform.deps.db!;
    expect((await findUserCredentials(db, "dave"))?.user.role).toBe("user");
    expect(listed(await users("list", "--json")).map((u) => u.username)).toEqual(
      expect.arrayContaining(["dave", "root"]),
    );

    // A change through the CLI ends the user's live session in the server at once.
    let session = await login("dave", "dave-password-1");
    expect(await me(session.cookie)).toBe(200);
    ok(await runCliWithInput(["users", "passwd", "dave"], env, "dave-password-2\n"));
    expect(await me(session.cookie)).toBe(401);
    expect((await login("dave", "dave-password-1")).status).toBe(401);

    session = await login("dave", "dave-password-2");
    expect(ok(await users("role", "dave", "admin"))).toBe("dave is now admin\n");
    expect(await me(session.cookie)).toBe(401);

    session = await login("dave", "dave-password-2");
    ok(await users("rm", "dave"));
    expect(await me(session.cookie)).toBe(401);
    expect(await findUserCredentials(db, "dave")).toBeUndefined();
    const missing = await users("rm", "dave");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not found");

    // The server audited the changes as made with the local token.
    const actions = (await listAudit(db, { limit: 100 }))
      .filter((e) => e.actor === "local_token")
      .map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(["user.add", "user.passwd", "user.role", "user.remove"]));
  });
});
