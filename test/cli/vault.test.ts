/**
 * `aixcl vault` as a user runs it (child processes): offline init/status/unseal/credentials,
 * the passphrase prompt on a real pseudo-terminal (no echo), and against a running platform:
 * credentials, seal/unseal, rotate (old admin password and sessions end), rotate without a
 * server, and rotation of a managed PostgreSQL role's password while an API-key stream runs.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyPassword } from "../../src/auth/passwords.js";
import { databasePath, loadConfig, modelsPath } from "../../src/config/load.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import type { Config } from "../../src/config/schema.js";
import { silentLogger } from "../../src/logger.js";
import { startPlatform, type Platform } from "../../src/server/start.js";
import { openDatabase } from "../../src/store/open.js";
import { findUserCredentials } from "../../src/store/users.js";
import { createVault } from "../../src/vault/vault.js";
import { localAdminToken, loginCookie, meStatus, postLogin } from "../support/auth-http.js";
import { testEngineOptions } from "../support/build.js";
import { createPostgresDatabase, type PostgresDatabase } from "../support/databases.js";
import { LONG_SCRIPT, longModel } from "../support/scripted-models.js";
import { installModel } from "../support/test-models.js";
import { cliArgs, cliEnv, closedPort, ROOT, runCli, runCliWithInput } from "./run-cli.js";

const homes: string[] = [];
async function tempHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), "aixcl-cli-vault-"));
  homes.push(home);
  return home;
}
afterAll(async () => {
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

interface Running {
  platform: Platform;
  config: Readonly<Config>;
  env: NodeJS.ProcessEnv;
  token: string;
}

async function startIn(home: string, flags: Record<string, unknown> = {}, extraEnv = {}): Promise<Running> {
  const config = loadConfig({
    flags: { home, "server.port": 0, "engine.threads": 1, "database.pglite_buffers_mb": 16, ...flags },
    env: {},
    readFile: false,
  });
  // A copy of the run's migrated template: this file is about the vault, not a first database.
  if (config.database.url === undefined) await copyPgliteTemplate(databasePath(config));
  const platform = await startPlatform({
    config,
    logger: silentLogger(),
    server: { drainTimeoutMs: 1000 },
    engine: testEngineOptions(),
  });
  const token = await localAdminToken(config);
  return { platform, config, token, env: cliEnv(home, { AIXCL_PORT: String(platform.port), ...extraEnv }) };
}

function parseCredentials(stdout: string): { user: string; password: string; url?: string } {
  const user = /user:\s+(\S+)/.exec(stdout)?.[1] ?? "";
  const password = /password:\s+(\S+)/.exec(stdout)?.[1] ?? "";
  const url = /database URL: (\S+)/.exec(stdout)?.[1];
  return { user, password, ...(url ? { url } : {}) };
}

describe("aixcl vault without a server", () => {
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    env = cliEnv(await tempHome(), { AIXCL_PORT: String(await closedPort()) });
  });

  it("init creates a key file vault once; status reports it", async () => {
    const before = await runCli(["vault", "status", "--json"], env);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout)).toMatchObject({ initialized: false, sealed: true, server: null });

    const init = await runCli(["vault", "init"], env);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("vault initialized with a key file");
    const after = await runCli(["vault", "status"], env);
    expect(after.stdout).toMatch(/initialized: yes/);
    expect(after.stdout).toMatch(/mode:\s+keyfile/);
    expect(after.stdout).toMatch(/sealed:\s+no/);
    expect(after.stdout).toMatch(/server:\s+not running/);

    const again = await runCli(["vault", "init"], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("vault already initialized");
  });

  it("a passphrase vault: init from stdin, unseal checks it, credentials refuse while sealed", async () => {
    const home = await tempHome();
    const penv = cliEnv(home, { AIXCL_PORT: String(await closedPort()) });
    const init = await runCliWithInput(["vault", "init", "--passphrase"], penv, "piped passphrase 1\n");
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("with a passphrase");

    const wrong = await runCliWithInput(["vault", "unseal"], penv, "not the passphrase\n");
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("wrong passphrase");
    // Checked, but nothing was unsealed: no server holds the vault (exit non-zero).
    const right = await runCliWithInput(["vault", "unseal"], penv, "piped passphrase 1\n");
    expect(right.code, right.stderr).toBe(1);
    expect(right.stderr).toContain("the passphrase is correct");
    expect(right.stderr).toContain("nothing was unsealed");

    const sealed = await runCliWithInput(["vault", "credentials"], penv, "");
    expect(sealed.code).toBe(1);
    expect(sealed.stderr).toContain("vault sealed");

    const file = join(home, "pass.txt");
    await writeFile(file, "piped passphrase 1\n", { mode: 0o600 });
    const fromFile = await runCli(["vault", "credentials", "--passphrase-file", file], penv);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout).toContain("no admin login is stored");
  });

  it("on a terminal the passphrase is asked twice and never echoed", async () => {
    const home = await tempHome();
    const passphrase = "typed on a tty 42";
    const command = [process.execPath, ...cliArgs(), "vault", "init", "--passphrase"].join(" ");
    const child = spawn("script", ["-q", "-e", "-c", command, "/dev/null"], {
      cwd: ROOT,
      env: { ...cliEnv(home), SHELL: "/bin/sh" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    const waitFor = (text: string) =>
      new Promise<void>((resolve, reject) => {
        const check = () => {
          if (output.includes(text)) {
            child.stdout.off("data", check);
            resolve();
          }
        };
        child.stdout.on("data", check);
        child.once("close", () => reject(new Error(`exited before "${text}": ${output}`)));
        check();
      });
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const closed = new Promise<number | null>((resolve) => child.once("close", resolve));
    await waitFor("vault passphrase: ");
    child.stdin.write(`${passphrase}\r`);
    await waitFor("again: ");
    child.stdin.write(`${passphrase}\r`);
    expect(await closed).toBe(0);
    expect(output).toContain("vault initialized with a passphrase");
    expect(output).not.toContain(passphrase);

    const vault = createVault({ dir: join(home, "vault"), logger: silentLogger() });
    await vault.unseal(passphrase);
    expect(vault.status().sealed).toBe(false);
    await vault.close();
  });
});

describe("aixcl vault with a running server", () => {
  let home: string;
  let running: Running | undefined;
  const r = () => {
    if (!running) throw new Error("not started");
    return running;
  };
  beforeAll(async () => {
    home = await tempHome();
    running = await startIn(home);
  });
  afterAll(async () => {
    await running?.platform.close();
  });

  it("credentials print the admin login created at first start, and it logs in", async () => {
    const { env, platform } = r();
    const status = await runCli(["vault", "status", "--json"], env);
    expect(JSON.parse(status.stdout)).toMatchObject({
      sealed: false,
      mode: "keyfile",
      entries: 3,
      server: `http://127.0.0.1:${platform.port}`,
    });

    const shown = await runCli(["vault", "credentials"], env);
    expect(shown.code, shown.stderr).toBe(0);
    const { user, password } = parseCredentials(shown.stdout);
    expect(user).toBe("admin");
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await postLogin(platform.url, user, password)).status).toBe(200);
  });

  it("seal makes credentials refuse; unseal (key file) restores", async () => {
    const { env } = r();
    const seal = await runCli(["vault", "seal"], env);
    expect(seal.stdout).toContain("vault sealed");
    const refused = await runCli(["vault", "credentials"], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("vault sealed");
    const rotate = await runCli(["vault", "rotate"], env);
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toContain("vault sealed");
    const unseal = await runCli(["vault", "unseal"], env);
    expect(unseal.code, unseal.stderr).toBe(0);
    expect(unseal.stdout).toContain("vault unsealed");
  });

  it("rotate: the old admin password stops working, the new works, existing sessions end", async () => {
    const { env, platform } = r();
    const old = parseCredentials((await runCli(["vault", "credentials"], env)).stdout);
    const cookie = await loginCookie(platform.url, old.user, old.password);
    expect(await meStatus(platform.url, cookie)).toBe(200);

    const rotated = await runCli(["vault", "rotate"], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain("admin password replaced for admin");
    expect(rotated.stdout).toMatch(/session secret replaced: [1-9]\d* session\(s\) ended/);
    expect(rotated.stdout).not.toContain("database password");

    const fresh = parseCredentials((await runCli(["vault", "credentials"], env)).stdout);
    expect(fresh.password).not.toBe(old.password);
    expect(await meStatus(platform.url, cookie)).toBe(401);
    expect((await postLogin(platform.url, "admin", old.password)).status).toBe(401);
    expect((await postLogin(platform.url, "admin", fresh.password)).status).toBe(200);
  });

  it("without a server, rotate works on the vault and the database directly", async () => {
    const { env, platform, config } = r();
    await platform.close();
    const old = parseCredentials((await runCli(["vault", "credentials"], env)).stdout);
    const rotated = await runCli(["vault", "rotate", "--json"], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout)).toEqual({
      admin_user: "admin",
      sessions_ended: 1,
      database_password: false,
    });
    const fresh = parseCredentials((await runCli(["vault", "credentials"], env)).stdout);
    expect(fresh.password).not.toBe(old.password);

    const db = await openDatabase(config);
    try {
      const hash = (await findUserCredentials(db, "admin"))?.passwordHash;
      expect(await verifyPassword(hash, fresh.password)).toBe(true);
      expect(await verifyPassword(hash, old.password)).toBe(false);
    } finally {
      await db.close();
    }
  });
});

describe("aixcl vault rotate with a managed PostgreSQL role", () => {
  let database: PostgresDatabase | undefined;
  let running: Running | undefined;
  const r = () => {
    if (!running || !database) throw new Error("not started");
    return { ...running, database };
  };
  beforeAll(async () => {
    database = await createPostgresDatabase();
    const home = await tempHome();
    // The CLI reads config.yaml and the environment, as a user's shell would give them.
    await writeFile(join(home, "config.yaml"), "database:\n  managed: true\n");
    const config = loadConfig({ flags: { home }, env: {}, readFile: false });
    await installModel(modelsPath(config), "long", await longModel());
    running = await startIn(
      home,
      { "database.url": database.url, "database.managed": true },
      { AIXCL_DATABASE_URL: database.url },
    );
  });
  afterAll(async () => {
    await running?.platform.close();
    await database?.drop();
  });

  const connects = async (url: string): Promise<boolean> => {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => undefined);
    try {
      await client.connect();
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === "28P01") return false;
      throw error;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  it("replaces the role password without breaking a running stream; new connections use the new one", async () => {
    const { env, platform, token, database } = r();
    const before = parseCredentials((await runCli(["vault", "credentials"], env)).stdout);
    expect(decodeURIComponent(new URL(before.url ?? "").password)).toBe(database.password);

    const minted = await fetch(`${platform.url}/api/admin/keys`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: "stream", user: "admin" }),
    });
    expect(minted.status).toBe(201);
    const { key } = (await minted.json()) as { key: string };

    const client = new Ollama({ host: platform.url, headers: { Authorization: `Bearer ${key}` } });
    const stream = await client.chat({
      model: "long",
      messages: [{ role: "user", content: "go" }],
      stream: true,
    });
    let text = "";
    let done = false;
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    if (!first.done) text += first.value.message.content;

    const rotated = await runCli(["vault", "rotate"], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain("database password replaced");

    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      text += next.value.message.content;
      done ||= next.value.done;
    }
    expect(done).toBe(true);
    expect(text).toBe(LONG_SCRIPT.join(""));

    const after = parseCredentials((await runCli(["vault", "credentials"], env)).stdout);
    const newPassword = decodeURIComponent(new URL(after.url ?? "").password);
    expect(newPassword).not.toBe(database.password);
    expect(await connects(database.url)).toBe(false);
    expect(await connects(after.url ?? "")).toBe(true);

    // Close every connection the pool holds: whatever it opens next authenticates anew.
    const { withPostgresAdmin } = await import("../support/databases.js");
    await withPostgresAdmin((admin) =>
      admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1", [
        database.role,
      ]),
    );
    let status = 0;
    for (let attempt = 0; attempt < 20 && status !== 200; attempt++) {
      // The pool learns of a killed idle connection from its error event; a request may meet one first.
      const response = await fetch(`${platform.url}/api/admin/keys`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      status = response.status;
      await response.arrayBuffer();
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  });
});
