/**
 * `aixcl keys create|list|revoke` on the database directly (no server) and through a running
 * server's admin API with the local token.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyWire, CreatedKeyWire } from "../../src/api/keys-client.js";
import { verifyApiKey } from "../../src/auth/api-keys.js";
import { createUser } from "../../src/auth/users.js";
import type { Database } from "../../src/store/types.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { withConfiguredDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { cliEnv, closedPort, runCli, type CliResult } from "./run-cli.js";

const KEY_LINE = /^aixcl_[0-9A-Za-z]{8}_[0-9A-Za-z]{43}\n$/;

function ok(result: CliResult): string {
  expect(result.stderr).not.toMatch(/aixcl:/);
  expect(result.code).toBe(0);
  return result.stdout;
}

const json = <T>(result: CliResult): T => JSON.parse(ok(result)) as T;

describe("aixcl keys without a server (on the database directly)", () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  const keys = (...args: string[]) => runCli(["keys", ...args], env);
  /** Opens the home's PGlite database (only while no CLI runs: one process at a time). */
  const withDb = <T>(fn: (db: Database) => Promise<T>): Promise<T> => withConfiguredDatabase({ home }, fn);

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "aixcl-keys-cli-"));
    // The home's database is a copy of the run's migrated template: this file tests the CLI, not a first start.
    await copyPgliteTemplate(join(home, "db"));
    env = cliEnv(home, { AIXCL_PORT: String(await closedPort()) });
    await withDb(async (db) => {
      await createUser(db, { username: "root", password: "root-password-12", role: "admin" });
      await createUser(db, { username: "alice", password: "alice-password-1", role: "user" });
    });
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it("creates (key alone on stdout), lists without the key, revokes by prefix", async () => {
    const created = await keys(
      "create",
      "--name",
      "ci",
      "--user",
      "alice",
      "--scope",
      "inference",
      "--expires",
      "30d",
    );
    const key = ok(created);
    expect(key).toMatch(KEY_LINE);
    expect(created.stderr).toMatch(/not shown again/);
    const prefix = key.slice(6, 14);

    const listed = json<ApiKeyWire[]>(await keys("list", "--json"));
    const entry = listed.find((k) => k.prefix === prefix);
    expect(entry).toMatchObject({ name: "ci", user: "alice", scopes: ["inference"], status: "active" });
    const expires = new Date(entry!.expires_at!).getTime();
    expect(Math.abs(expires - (Date.now() + 30 * 86_400_000))).toBeLessThan(10 * 60_000);
    const table = ok(await keys("list"));
    expect(table).toMatch(/PREFIX/);
    expect(table).toContain(prefix);
    for (const output of [JSON.stringify(listed), table]) expect(output).not.toContain(key.trim().slice(15));

    expect(await withDb((db) => verifyApiKey(db, key.trim()))).toMatchObject({ via: "api_key" });
    expect(ok(await keys("revoke", prefix))).toMatch(new RegExp(`revoked ${prefix}`));
    expect(
      json<ApiKeyWire[]>(await keys("list", "--json", "--user", "alice")).find((k) => k.prefix === prefix),
    ).toMatchObject({
      status: "revoked",
    });
  });

  it("create --json prints only JSON; without --user the key is the first admin's", async () => {
    const created = json<CreatedKeyWire>(await keys("create", "--name", "ops", "--scope", "admin", "--json"));
    expect(created.key).toMatch(/^aixcl_/);
    expect(created).toMatchObject({ user: "root", scopes: ["admin"] });
    const revoked = json<ApiKeyWire>(await keys("revoke", created.id, "--json"));
    expect(revoked).toMatchObject({ id: created.id, status: "revoked" });
    expect(revoked).not.toHaveProperty("key");
  });

  it("usage errors exit 2 before anything runs; unknown keys and users exit 1", async () => {
    const usage = [
      ["create", "--name", "x", "--scope", "root"],
      ["create", "--name", "x", "--expires", "yesterday"],
      ["create", "--name", "x", "--expires", "2001-01-01"],
      ["create"],
      ["revoke"],
    ];
    const results = await Promise.all(usage.map((args) => keys(...args)));
    results.forEach((result, i) => {
      expect(result.code, usage[i]!.join(" ")).toBe(2);
      expect(result.stdout).toBe("");
    });
    const missing = await keys("revoke", "ZZZZZZZZ");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
    const nobody = await keys("create", "--name", "x", "--user", "nobody");
    expect(nobody.code).toBe(1);
    expect(nobody.stdout).toBe("");
    const injected = await keys("create", "--name", "x", "--user", "'; DROP TABLE users; --");
    expect(injected.code).toBe(1);
    expect(await withDb(async (db) => (await db.query("SELECT 1 FROM users")).rows.length)).toBe(2);
  });
});

describe("aixcl keys with a running server (admin API, local token)", () => {
  let platform: TestPlatform;
  let env: NodeJS.ProcessEnv;
  const keys = (...args: string[]) => runCli(["keys", ...args], env);

  beforeAll(async () => {
    platform = await startTestPlatform({
      flags: { "auth.api": "required", "engine.threads": 1 },
    });
    env = cliEnv(platform.home, { AIXCL_PORT: String(platform.port) });
    await createUser(platform.deps.db!, { username: "alice", password: "alice-password-1", role: "user" });
    await createUser(platform.deps.db!, { username: "root", password: "root-password-12", role: "admin" });
  });
  afterAll(async () => {
    await platform?.close();
  });

  it("creates a working key, lists it, revokes it through the server", async () => {
    const key = ok(await keys("create", "--name", "served", "--user", "alice")).trim();
    const prefix = key.slice(6, 14);
    const tags = await fetch(`${platform.url}/api/tags`, { headers: { Authorization: `Bearer ${key}` } });
    expect(tags.status).toBe(200);
    expect(json<ApiKeyWire[]>(await keys("list", "--json")).find((k) => k.prefix === prefix)).toMatchObject({
      user: "alice",
      last_used_at: expect.any(String) as string,
    });

    expect(ok(await keys("revoke", prefix))).toContain(prefix);
    // The revoke went through the server (which cuts the key's open streams — see
    // test/auth/keys-api.test.ts), not around it: the audit names the local token as the actor.
    const audit = await platform.deps.db!.query<{ actor: string; action: string }>(
      "SELECT actor, action FROM audit_log WHERE target = $1 ORDER BY id",
      [prefix],
    );
    expect(audit.rows).toEqual([
      { actor: "local_token", action: "key.create" },
      { actor: "local_token", action: "key.revoke" },
    ]);
    const after = await fetch(`${platform.url}/api/tags`, { headers: { Authorization: `Bearer ${key}` } });
    expect(after.status).toBe(401);
  });

  it("without --user the key belongs to the oldest admin account", async () => {
    const created = json<CreatedKeyWire>(await keys("create", "--name", "default-owner", "--json"));
    const admin = await platform.deps.db!.query<{ username: string }>(
      "SELECT username FROM users WHERE role = 'admin' AND status = 'active' ORDER BY created_at, id LIMIT 1",
    );
    expect(created.user).toBe(admin.rows[0]?.username);
  });
});
