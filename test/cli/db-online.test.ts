/**
 * `aixcl db backup` beside a running server on embedded PGlite: the server takes the backup
 * (`GET /api/admin/backup`) while it keeps serving, the CLI saves and verifies it, and a restore
 * into a wiped home brings back the same rows and vault entries.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/auth/api-keys.js";
import { findUser } from "../../src/auth/users.js";
import { silentLogger } from "../../src/logger.js";
import { verifyBackup } from "../../src/backup/restore.js";
import { openPglite } from "../../src/store/pglite.js";
import type { Database } from "../../src/store/types.js";
import { createVault } from "../../src/vault/vault.js";
import { bearer, localAdminToken, loginCookie } from "../support/auth-http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { LONG_SCRIPT, longModel } from "../support/scripted-models.js";
import { ndjsonRecords, openStreamBody } from "../support/streams.js";
import { HOSTILE, run, seedDatabase, snapshot } from "../backup/backup-support.js";
import { cliEnv, runCli } from "./run-cli.js";
import { SCHEMA_VERSION } from "../../src/store/migrations.js";
import { TEST_PGLITE_BUFFERS_MB } from "../support/pglite-template-build.js";

const SECRET_NAME = "app.online-token";
const SECRET_VALUE = "Online-Secret-4c1d9e2b-77aa-4f0e";

describe("aixcl db backup while a server runs on the embedded database", () => {
  let platform: TestPlatform;
  let db: Database;
  let env: NodeJS.ProcessEnv;
  /** Outside the platform's home, which close() removes. */
  let outside: string;
  let userKey: string;

  beforeAll(async () => {
    // The home's own PGlite on disk, as `aixcl serve` has it: what an online backup copies.
    platform = await startTestPlatform({
      flags: { "engine.threads": 1 },
      models: [{ name: "long", gguf: await longModel() }],
      homeDatabase: true,
    });
    db = platform.deps.db!;
    env = cliEnv(platform.home, { AIXCL_PORT: String(platform.port) });
    outside = await mkdtemp(join(tmpdir(), "aixcl-cli-db-online-"));
    await seedDatabase(db, "online");
    await platform.deps.vault!.set(SECRET_NAME, SECRET_VALUE);
    const user = await findUser(db, "user-online");
    ({ key: userKey } = await createApiKey(db, { userId: user!.id, name: "plain", scopes: ["inference"] }));
  });
  afterAll(async () => {
    await platform.close();
    await rm(outside, { recursive: true, force: true });
  });

  it("the route needs an admin: 401 without a credential, 403 for a user's key or session", async () => {
    const url = `${platform.url}/api/admin/backup`;
    const anonymous = await fetch(url);
    await anonymous.arrayBuffer();
    expect(anonymous.status).toBe(401);
    const withKey = await fetch(url, { headers: bearer(userKey) });
    await withKey.arrayBuffer();
    expect(withKey.status).toBe(403);
    const cookie = await loginCookie(platform.url, "user-online", HOSTILE[0]!);
    const withSession = await fetch(url, { headers: { Cookie: cookie } });
    await withSession.arrayBuffer();
    expect(withSession.status).toBe(403);
  });

  it("the route answers a tar named like a backup, without the key file", async () => {
    const response = await fetch(`${platform.url}/api/admin/backup`, {
      headers: bearer(await localAdminToken(platform.config)),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/x-tar");
    expect(response.headers.get("content-disposition")).toMatch(
      /^attachment; filename="aixcl-backup-\d{8}T\d{6}Z\.tar"$/,
    );
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(Number(response.headers.get("content-length"))).toBe(bytes.length);
    expect(bytes.includes(Buffer.from(SECRET_VALUE))).toBe(false);
    // Nothing is left in run/ (the archive lives in an unlinked file while it is sent).
    const { stdout } = await run("ls", ["-A", join(platform.home, "run")]);
    const own = ["", "admin.token", "server.json"];
    expect(stdout.split("\n").filter((name) => !own.includes(name))).toEqual([]);
  });

  it("an existing file is refused before the server takes a backup", async () => {
    const file = join(outside, "taken.tar");
    await writeFile(file, "mine");
    const result = await runCli(["db", "backup", file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${file} already exists; choose another name`);
    expect(await readFile(file, "utf8")).toBe("mine");
    const audited = await db.query("SELECT 1 FROM audit_log WHERE action = 'db.backup'");
    expect(audited.rows.length).toBe(1); // the route test's alone
  });

  it("backs up during a streaming chat (which completes); restore into a wiped home gives the same rows and vault", async () => {
    const rows = await snapshot(db);
    const vault = platform.deps.vault!;
    const entries = Object.fromEntries(
      await Promise.all((await vault.list()).map(async (name) => [name, await vault.get(name)] as const)),
    );
    expect(entries[SECRET_NAME]).toBe(SECRET_VALUE);

    const response = await fetch(`${platform.url}/api/chat`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model: "long", messages: [{ role: "user", content: "go" }] }),
    });
    expect(response.status).toBe(200);
    const stream = await openStreamBody(response);

    const file = join(outside, "online.tar");
    const result = await runCli(["db", "backup", file], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`backup written to ${file} (pglite, schema version ${SCHEMA_VERSION},`);
    expect(result.stdout).toContain("vault key not included");

    const { text, cut } = await stream.finish();
    expect(cut).toBe(false);
    const records = ndjsonRecords<{ done?: boolean; message?: { content: string } }>(text);
    expect(records.at(-1)?.done).toBe(true);
    expect(records.map((record) => record.message?.content ?? "").join("")).toBe(LONG_SCRIPT.join(""));

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const manifest = await verifyBackup(file);
    expect(manifest.vault_key_included).toBe(false);
    expect(manifest.engine).toBe("pglite");
    expect((await readFile(file)).includes(Buffer.from(SECRET_VALUE))).toBe(false);

    // Taking a backup is audited (after its snapshot, so not in it).
    const audited = await db.query<{ actor: string }>(
      "SELECT actor FROM audit_log WHERE action = 'db.backup' ORDER BY id",
    );
    expect(audited.rows.length).toBe(2);

    // The key stays with the user, apart from the backup: they bring it to the new home.
    const key = join(outside, "vault.key");
    await copyFile(join(platform.home, "vault", "key"), key);
    await platform.close();

    const home = join(outside, "new-home");
    await mkdir(join(home, "vault"), { recursive: true, mode: 0o700 });
    await copyFile(key, join(home, "vault", "key"));
    await chmod(join(home, "vault", "key"), 0o600);
    const restored = await runCli(["db", "restore", file, "--yes"], cliEnv(home));
    expect(restored.code).toBe(0);
    expect(restored.stderr).toContain("the key already in place was kept");

    const after = await openPglite({ dataDir: join(home, "db"), sharedBuffersMb: TEST_PGLITE_BUFFERS_MB });
    try {
      expect(await snapshot(after)).toEqual(rows);
    } finally {
      await after.close();
    }
    const restoredVault = createVault({ dir: join(home, "vault"), logger: silentLogger() });
    try {
      await restoredVault.unseal();
      const names = await restoredVault.list();
      expect(names).toEqual(Object.keys(entries).sort());
      for (const name of names) expect(await restoredVault.get(name)).toBe(entries[name]);
    } finally {
      await restoredVault.close();
    }
  });
});
