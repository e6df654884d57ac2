/**
 * `aixcl audit` on the home's PGlite database directly (no server) and through a running server's
 * admin API with the local token (the server holds PGlite's lock, so only that path can answer).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEntryWire } from "../../src/api/audit-client.js";
import { createUser } from "../../src/auth/users.js";
import { recordAudit } from "../../src/store/audit.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { postLogin } from "../support/auth-http.js";
import { withConfiguredDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { cliEnv, closedPort, runCli, type CliResult } from "./run-cli.js";

function ok(result: CliResult): string {
  expect(result.stderr).not.toMatch(/aixcl:/);
  expect(result.code).toBe(0);
  return result.stdout;
}

const entries = (result: CliResult): AuditEntryWire[] => JSON.parse(ok(result)) as AuditEntryWire[];

describe("aixcl audit without a server (on the database directly)", () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  const audit = (...args: string[]) => runCli(["audit", ...args], env);

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "aixcl-audit-cli-"));
    // The home's database is a copy of the run's migrated template: this file tests the CLI, not a first start.
    await copyPgliteTemplate(join(home, "db"));
    env = cliEnv(home, { AIXCL_PORT: String(await closedPort()) });
    await withConfiguredDatabase({ home }, async (db) => {
      // user.add for root, then a few events of each kind.
      await createUser(db, { username: "root", password: "root-password-12", role: "admin" });
      await recordAudit(db, {
        actor: "anonymous",
        action: "login.failure",
        target: "root",
        address: "10.0.0.7",
      });
      await recordAudit(db, { actor: "root", action: "login.success", target: "root", address: "10.0.0.8" });
      await recordAudit(db, {
        actor: "root",
        action: "key.revoke",
        target: "AbCdEfGh",
        details: { name: "ci" },
      });
    });
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it("--json prints the wire entries newest first", async () => {
    const listed = entries(await audit("--json"));
    expect(listed.map((e) => [e.action, e.actor, e.target, e.address])).toEqual([
      ["key.revoke", "root", "AbCdEfGh", null],
      ["login.success", "root", "root", "10.0.0.8"],
      ["login.failure", "anonymous", "root", "10.0.0.7"],
      ["user.add", "system", "root", null],
    ]);
    expect(listed[0]).toMatchObject({ actor_id: null, details: { name: "ci" } });
    expect(Number.isNaN(Date.parse(listed[0]!.at))).toBe(false);
  });

  it("prints a table of time, actor, action, target and address", async () => {
    const lines = ok(await audit())
      .trimEnd()
      .split("\n");
    expect(lines[0]).toMatch(/^ID\s+TIME\s+ACTOR\s+ACTION\s+TARGET\s+ADDRESS$/);
    expect(lines).toHaveLength(5);
    expect(lines[1]).toMatch(/^\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+root\s+key\.revoke\s+AbCdEfGh\s+-$/);
    expect(lines[3]).toMatch(/anonymous\s+login\.failure\s+root\s+10\.0\.0\.7$/);
  });

  it("filters by action and pages with --limit and --before", async () => {
    expect(entries(await audit("--json", "--action", "login.")).map((e) => e.action)).toEqual([
      "login.success",
      "login.failure",
    ]);
    expect(entries(await audit("--json", "--action", "user.add")).map((e) => e.target)).toEqual(["root"]);
    expect(entries(await audit("--json", "--action", "'; DROP TABLE audit_log; --"))).toEqual([]);

    const first = await audit("--json", "--limit", "2");
    const page = entries(first);
    expect(page.map((e) => e.action)).toEqual(["key.revoke", "login.success"]);
    expect(first.stderr).toContain(`aixcl audit --before ${page[1]!.id}`);
    const rest = await audit("--json", "--before", String(page[1]!.id));
    expect(entries(rest).map((e) => e.action)).toEqual(["login.failure", "user.add"]);
    expect(rest.stderr).not.toContain("--before");
  });

  it("usage errors exit 2 with nothing on stdout", async () => {
    const usage = [
      ["--limit", "0"],
      ["--limit", "501"],
      ["--limit", "ten"],
      ["--before", "-3"],
      ["--before", "x"],
    ];
    const results = await Promise.all(usage.map((args) => audit(...args)));
    results.forEach((result, i) => {
      expect(result.code, usage[i]!.join(" ")).toBe(2);
      expect(result.stdout).toBe("");
    });
  });
});

describe("aixcl audit with a running server (admin API, local token)", () => {
  let platform: TestPlatform;
  let env: NodeJS.ProcessEnv;
  const audit = (...args: string[]) => runCli(["audit", ...args], env);

  beforeAll(async () => {
    platform = await startTestPlatform({ flags: { "engine.threads": 1 } });
    env = cliEnv(platform.home, { AIXCL_PORT: String(platform.port) });
    await createUser(platform.deps.db!, { username: "root", password: "root-password-12", role: "admin" });
  });
  afterAll(async () => {
    await platform?.close();
  });

  it("reads what the server recorded, through the server", async () => {
    expect((await postLogin(platform.url, "root", "wrong-password-1")).status).toBe(401);
    expect((await postLogin(platform.url, "root", "root-password-12")).status).toBe(200);
    const listed = entries(await audit("--json", "--action", "login*"));
    expect(listed.map((e) => [e.action, e.target])).toEqual([
      ["login.success", "root"],
      ["login.failure", "root"],
    ]);
    expect(listed[0]!.address).toMatch(/127\.0\.0\.1|::1/);
    expect(ok(await audit("--limit", "1"))).toMatch(/root\s+login\.success\s+root\s+\S*127\.0\.0\.1/);
  });

  it("a server-side refusal is one error line, exit 1", async () => {
    const refused = await audit("--action", "a".repeat(201));
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/^aixcl: .*action/);
  });
});
