/**
 * The vault in a running platform (real HTTP on port 0, PGlite, the real logger writing to
 * `$AIXCL_HOME/logs`): first start creates the vault, the session secret and the admin account;
 * `/api/vault` seals, unseals and rotates; a sealed vault answers 503; a passphrase vault starts
 * sealed and refuses wrong passphrases; no secret value ends up in files, logs or /metrics.
 */
import { createHmac } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { databasePath, loadConfig, vaultPath } from "../../src/config/load.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import type { Config } from "../../src/config/schema.js";
import { isAppError } from "../../src/errors.js";
import { createLogger, silentLogger, type Logger } from "../../src/logger.js";
import type { AppEnv } from "../../src/server/app-env.js";
import { startPlatform, type Platform } from "../../src/server/start.js";
import { vaultRoutes } from "../../src/server/routes/vault.js";
import { ADMIN_PASSWORD, ADMIN_USERNAME, SESSION_SECRET } from "../../src/platform/secrets.js";
import { createVault } from "../../src/vault/vault.js";
import { testEngineOptions } from "../support/build.js";
import { jsonFetch, localAdminToken, loginCookie, meStatus, postLogin } from "../support/auth-http.js";

interface Started {
  home: string;
  config: Readonly<Config>;
  platform: Platform;
  logger: Logger;
  token: string;
}

async function start(prepare?: (config: Readonly<Config>) => Promise<void>): Promise<Started> {
  const home = await mkdtemp(join(tmpdir(), "aixcl-vault-server-"));
  const config = loadConfig({
    flags: { home, "server.port": 0, "log.level": "debug", "database.pglite_buffers_mb": 16 },
    env: {},
    readFile: false,
  });
  // A copy of the run's migrated template: this file is about the vault, not a first database.
  await copyPgliteTemplate(databasePath(config));
  await prepare?.(config);
  const logger = createLogger({ level: "debug", dir: join(home, "logs") });
  const platform = await startPlatform({
    config,
    logger,
    // The throttle's waits are its unit test's (test/auth/unseal-throttle.test.ts); here they
    // are short, so the guessing test costs its KDF runs and not seconds of sleep.
    server: { drainTimeoutMs: 1000, unsealThrottle: { fixedDelayMs: 10, callerPenaltyMs: 100 } },
    engine: testEngineOptions(),
  });
  const token = await localAdminToken(config);
  return { home, config, platform, logger, token };
}

async function stop(started: Started | undefined): Promise<void> {
  if (!started) return;
  await started.platform.close();
  await rm(started.home, { recursive: true, force: true });
}

/** The platform's vault as another process (the CLI) sees it: unsealed by the key file. */
async function readEntry(config: Readonly<Config>, name: string): Promise<string | undefined> {
  const vault = createVault({ dir: vaultPath(config), logger: silentLogger() });
  try {
    return await vault.get(name);
  } finally {
    await vault.close();
  }
}

function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return jsonFetch(url, "POST", path, body, headers);
}

/** Every file under `dir` that contains `needle` (none expected). */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    if ((await readFile(path)).includes(Buffer.from(needle))) hits.push(path);
  }
  return hits;
}

/** One client connection (keep-alive, one socket): one caller, as the unseal throttle sees it. */
function connection(port: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const ports = new Set<number>();
  const unseal = (passphrase: string) =>
    new Promise<{ status: number; retryAfter?: string; body: unknown }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port,
          path: "/api/vault/unseal",
          method: "POST",
          agent,
          headers: { "Content-Type": "application/json" },
        },
        (res) => {
          if (res.socket.localPort !== undefined) ports.add(res.socket.localPort);
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => {
            const retryAfter = res.headers["retry-after"];
            resolve({
              status: res.statusCode ?? 0,
              ...(retryAfter !== undefined ? { retryAfter } : {}),
              body: JSON.parse(text) as unknown,
            });
          });
        },
      );
      req.once("error", reject);
      req.end(JSON.stringify({ passphrase }));
    });
  return { unseal, ports: () => ports, close: () => agent.destroy() };
}

async function logText(home: string, until: string): Promise<string> {
  // The log transport writes from a worker thread: wait for a line known to come.
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = await readFile(join(home, "logs", "aixcl.log"), "utf8").catch(() => "");
    if (text.includes(until)) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the log never showed ${until}`);
}

describe("vault on a running platform, key file mode", () => {
  let s: Started | undefined;
  const started = () => {
    if (!s) throw new Error("not started");
    return s;
  };
  beforeAll(async () => {
    s = await start();
  });
  afterAll(() => stop(s));

  it("first start creates the vault, a session secret and an admin whose password is in the vault", async () => {
    const { platform, config } = started();
    const status = await (await fetch(`${platform.url}/api/vault/status`)).json();
    expect(status).toEqual({ initialized: true, sealed: false, mode: "keyfile", entries: 3 });
    expect(await readEntry(config, ADMIN_USERNAME)).toBe("admin");
    expect(await readEntry(config, SESSION_SECRET)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const password = await readEntry(config, ADMIN_PASSWORD);
    expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await postLogin(platform.url, "admin", password ?? "")).status).toBe(200);
  });

  it("seal and rotate need an admin; unseal is refused off loopback", async () => {
    const { platform } = started();
    const db = platform.deps.db;
    if (!db) throw new Error("no database");
    await createUser(db, { username: "bob", password: "bob-password-1", role: "user" });
    const bob = await loginCookie(platform.url, "bob", "bob-password-1");
    expect(bob).toBeDefined();
    for (const path of ["/api/vault/seal", "/api/vault/rotate"]) {
      expect((await post(platform.url, path, {})).status, path).toBe(401);
      expect((await post(platform.url, path, {}, { Cookie: bob })).status, path).toBe(403);
    }
    expect((await fetch(`${platform.url}/api/vault/status`).then((r) => r.json())) as object).toMatchObject({
      sealed: false,
    });
    // No socket (not a network peer) is not loopback: the rule fails closed.
    const vault = platform.deps.vault;
    if (!vault) throw new Error("no vault");
    const app = new Hono<AppEnv>();
    app.route("/", vaultRoutes({ ...platform.deps, vault }));
    app.onError((error, c) => c.json({ code: isAppError(error) ? error.code : "internal" }));
    const response = await app.request("/unseal", { method: "POST", body: "{}" });
    expect(await response.json()).toEqual({ code: "forbidden" });
  });

  it("sealed: rotate, login and session checks answer 503 vault sealed; unseal re-reads the key file", async () => {
    const { platform, token } = started();
    const auth = { Authorization: `Bearer ${token}` };
    const cookie = await loginCookie(platform.url, "bob", "bob-password-1");
    const sealed = await post(platform.url, "/api/vault/seal", {}, auth);
    expect(await sealed.json()).toEqual({ initialized: true, sealed: true, mode: "keyfile", entries: 3 });
    const refused = await post(platform.url, "/api/vault/rotate", {}, auth);
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: "vault sealed" });
    // Session ids are keyed by the vault's session secret: nothing can log in or be checked.
    const loginSealed = await post(platform.url, "/api/auth/login", {
      username: "bob",
      password: "bob-password-1",
    });
    expect(loginSealed.status).toBe(503);
    expect(await loginSealed.json()).toEqual({ error: "vault sealed" });
    const meSealed = await fetch(`${platform.url}/api/auth/me`, { headers: { Cookie: cookie } });
    expect(meSealed.status).toBe(503);
    await meSealed.arrayBuffer();
    // A browser's cookie rides along: unsealing must not try (and fail) to check it.
    const unsealed = await post(platform.url, "/api/vault/unseal", {}, { Cookie: cookie });
    expect(unsealed.status).toBe(200);
    expect(((await unsealed.json()) as { sealed: boolean }).sealed).toBe(false);
    // Unsealed again, the same session works: the secret did not change.
    expect(await meStatus(platform.url, cookie)).toBe(200);
  });

  it("rotate: the old admin password stops working, the new one works, every session ends", async () => {
    const { platform, token, config } = started();
    const oldPassword = (await readEntry(config, ADMIN_PASSWORD)) ?? "";
    const oldSecret = await readEntry(config, SESSION_SECRET);
    const adminCookie = await loginCookie(platform.url, "admin", oldPassword);
    const bobCookie = await loginCookie(platform.url, "bob", "bob-password-1");
    expect(await meStatus(platform.url, adminCookie)).toBe(200);
    expect(await meStatus(platform.url, bobCookie)).toBe(200);

    const response = await post(platform.url, "/api/vault/rotate", {}, { Authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    const report = (await response.json()) as {
      admin_user: string;
      sessions_ended: number;
      database_password: boolean;
    };
    expect(report).toMatchObject({ admin_user: "admin", database_password: false });
    expect(report.sessions_ended).toBeGreaterThanOrEqual(1);

    const newPassword = (await readEntry(config, ADMIN_PASSWORD)) ?? "";
    expect(newPassword).not.toBe(oldPassword);
    expect(await readEntry(config, SESSION_SECRET)).not.toBe(oldSecret);
    expect(await meStatus(platform.url, adminCookie)).toBe(401);
    expect(await meStatus(platform.url, bobCookie)).toBe(401);
    expect((await postLogin(platform.url, "admin", oldPassword)).status).toBe(401);
    const fresh = await postLogin(platform.url, "admin", newPassword);
    expect(fresh.status).toBe(200);
    // The new session is keyed by the new secret: the server's copy of it was replaced, not kept.
    const newSecret = (await readEntry(config, SESSION_SECRET)) ?? "";
    const id = fresh.cookie?.split("=")[1] ?? "";
    const keyed = await platform.deps.db?.query("SELECT 1 FROM sessions WHERE id_hash = $1", [
      createHmac("sha256", newSecret).update(id, "utf8").digest("hex"),
    ]);
    expect(keyed?.rows).toHaveLength(1);
    expect(await meStatus(platform.url, fresh.cookie ?? "")).toBe(200);
  });

  it("no secret value appears in the vault dir, the logs, the data dir or /metrics", async () => {
    const { platform, config, home } = started();
    const secrets = [
      (await readEntry(config, ADMIN_PASSWORD)) ?? "",
      (await readEntry(config, SESSION_SECRET)) ?? "",
    ];
    const metrics = await (await fetch(`${platform.url}/metrics`)).text();
    const log = await logText(home, "vault secrets rotated");
    expect(log).toContain("vault initialized, run `aixcl vault credentials`");
    await platform.close();
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(20);
      expect(metrics).not.toContain(secret);
      expect(log).not.toContain(secret);
      for (const dir of [vaultPath(config), join(home, "logs"), join(home, "db")]) {
        expect(await filesContaining(dir, secret), dir).toEqual([]);
      }
    }
  });
});

describe("vault on a running platform, passphrase mode", () => {
  const passphrase = "a long and secret passphrase";
  let s: Started | undefined;
  const started = () => {
    if (!s) throw new Error("not started");
    return s;
  };
  beforeAll(async () => {
    s = await start(async (config) => {
      const vault = createVault({ dir: vaultPath(config), logger: silentLogger() });
      await vault.init({ mode: "passphrase", passphrase });
      await vault.close();
    });
  });
  afterAll(() => stop(s));

  it("starts sealed: what needs a secret answers 503 and no admin exists yet", async () => {
    const { platform, token } = started();
    const status = await (await fetch(`${platform.url}/api/vault/status`)).json();
    expect(status).toEqual({ initialized: true, sealed: true, mode: "passphrase", entries: 0 });
    const refused = await post(platform.url, "/api/vault/rotate", {}, { Authorization: `Bearer ${token}` });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toEqual({ error: "vault sealed" });
    const users = await platform.deps.db?.query("SELECT 1 FROM users");
    expect(users?.rowCount).toBe(0);
  });

  it("refuses a wrong passphrase, unseals with the right one (creating the admin), seals again", async () => {
    const { platform, token } = started();
    const wrong = await post(platform.url, "/api/vault/unseal", { passphrase: "not it at all" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "wrong passphrase" });

    const right = await post(platform.url, "/api/vault/unseal", { passphrase });
    expect(right.status).toBe(200);
    expect(await right.json()).toEqual({ initialized: true, sealed: false, mode: "passphrase", entries: 3 });
    const users = await platform.deps.db?.query<{ username: string }>("SELECT username FROM users");
    expect(users?.rows).toEqual([{ username: "admin" }]);

    const sealed = await post(platform.url, "/api/vault/seal", {}, { Authorization: `Bearer ${token}` });
    expect(((await sealed.json()) as { sealed: boolean }).sealed).toBe(true);
  });

  it("throttles a caller that keeps guessing, yet its right passphrase still unseals; others are not locked out", async () => {
    const { platform, token } = started();
    const a = connection(platform.port);
    const b = connection(platform.port);
    try {
      const statuses: number[] = [];
      for (let attempt = 0; attempt < 7; attempt++) {
        statuses.push((await a.unseal(`wrong ${attempt}`)).status);
      }
      // Five wrong passphrases per caller, then 429: its guesses are slowed and refused as such.
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
      const limited = await a.unseal("wrong again");
      expect(limited.status).toBe(429);
      expect(Number(limited.retryAfter)).toBeGreaterThan(0);

      // Another caller is not locked out by the first.
      expect((await b.unseal("b is wrong too")).status).toBe(401);

      // The throttled caller's right passphrase is still checked, and unseals.
      const right = await a.unseal(passphrase);
      expect(right.status).toBe(200);
      expect(right.body).toMatchObject({ sealed: false });

      // Success reset its counter: sealed again, a wrong guess is a plain 401.
      await (
        await post(platform.url, "/api/vault/seal", {}, { Authorization: `Bearer ${token}` })
      ).arrayBuffer();
      expect((await a.unseal("wrong after success")).status).toBe(401);
      // One connection each: the throttle told them apart by it.
      expect(a.ports().size).toBe(1);
      expect(b.ports().size).toBe(1);
      expect([...a.ports()][0]).not.toBe([...b.ports()][0]);
    } finally {
      a.close();
      b.close();
    }
  }, 180_000);
});
