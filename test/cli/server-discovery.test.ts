/**
 * How the admin commands find this home's server (issue 8, item 5): a server on a port other than
 * the configured one is found through run/server.json; a listener that cannot answer the identity
 * challenge — another program on the configured port, the port of a forged or stale
 * run/server.json, a relay to the real server — never receives the local token; and seal/unseal
 * exit non-zero when no server of this home runs.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ApiKeyWire } from "../../src/api/keys-client.js";
import type { UserWire } from "../../src/api/users-client.js";
import { localTokenPath, serverRecordPath } from "../../src/config/load.js";
import { localAdminToken } from "../support/auth-http.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { cliEnv, closedPort, runCli, runCliWithInput, type CliResult } from "./run-cli.js";

/** An HTTP listener that records every request's headers and answers 200 JSON, as a server would. */
interface Decoy {
  port: number;
  requests: { url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** `relayTo`: forwards every request to that port instead (a relay to the real server). */
async function startDecoy(relayTo?: number): Promise<Decoy> {
  const requests: Decoy["requests"] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    if (relayTo === undefined) {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ proof: "x", initialized: true, sealed: false, users: [], keys: [] }));
      return;
    }
    const upstream = request(
      { host: "127.0.0.1", port: relayTo, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** No request carried a credential, and no header value holds the token. */
function expectNoToken(decoy: Decoy, token: string): void {
  for (const { headers } of decoy.requests) {
    expect(headers.authorization).toBeUndefined();
    expect(headers["x-api-key"]).toBeUndefined();
    expect(JSON.stringify(headers)).not.toContain(token);
  }
}

function ok(result: CliResult): string {
  expect(result.stderr, result.stderr).not.toMatch(/aixcl:/);
  expect(result.code).toBe(0);
  return result.stdout;
}

/** A process id that no process has now. */
function deadPid(): number {
  const pid = spawnSync("true").pid;
  if (pid === undefined) throw new Error("no pid");
  return pid;
}

describe("a server on a port other than the configured one", () => {
  let platform: TestPlatform;
  let decoy: Decoy;
  let env: NodeJS.ProcessEnv;
  let token: string;
  beforeAll(async () => {
    platform = await startTestPlatform({ flags: { "engine.threads": 1 } });
    decoy = await startDecoy();
    token = await localAdminToken(platform.config);
    // The configured port is the decoy's: the server listens elsewhere (port 0 → random).
    env = cliEnv(platform.home, { AIXCL_PORT: String(decoy.port) });
  });
  afterAll(async () => {
    await decoy.close();
    await platform.close();
  });

  it("writes run/server.json (0600) naming its pid, URL and port", async () => {
    const path = serverRecordPath(platform.config);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const record = JSON.parse(await readFile(path, "utf8")) as Record<string, unknown>;
    expect(record).toMatchObject({ pid: process.pid, url: platform.url, port: platform.port });
    expect(JSON.stringify(record)).not.toContain(token);
  });

  it("vault status, seal and unseal reach it", async () => {
    const status = JSON.parse(ok(await runCli(["vault", "status", "--json"], env))) as Record<
      string,
      unknown
    >;
    expect(status).toMatchObject({ server: platform.url, sealed: false });
    expect(ok(await runCli(["vault", "seal"], env))).toContain("vault sealed");
    expect(platform.deps.vault?.status().sealed).toBe(true);
    expect(ok(await runCli(["vault", "unseal"], env))).toContain("vault unsealed");
    expect(platform.deps.vault?.status().sealed).toBe(false);
  });

  it("users and keys go through it (its database sees the changes)", async () => {
    ok(await runCliWithInput(["users", "add", "dora", "--password-stdin"], env, "dora-password-1\n"));
    const rows = await platform.deps.db?.query("SELECT 1 FROM users WHERE username = 'dora'");
    expect(rows?.rows.length).toBe(1);
    const users = JSON.parse(ok(await runCli(["users", "list", "--json"], env))) as UserWire[];
    expect(users.map((u) => u.username).sort()).toEqual(["admin", "dora"]);

    ok(await runCli(["keys", "create", "--name", "found", "--user", "dora"], env));
    const keys = JSON.parse(ok(await runCli(["keys", "list", "--json"], env))) as ApiKeyWire[];
    expect(keys.map((k) => k.name)).toEqual(["found"]);
    const audit = JSON.parse(ok(await runCli(["audit", "--json", "--limit", "5"], env))) as {
      action: string;
    }[];
    expect(audit.map((e) => e.action)).toContain("key.create");
  });

  it("never talks to the configured port meanwhile", () => {
    expect(decoy.requests).toEqual([]);
  });

  it("a relay on another port (a forged run/server.json) gets no token; the real server is still found", async () => {
    const relay = await startDecoy(platform.port);
    const path = serverRecordPath(platform.config);
    const original = await readFile(path, "utf8");
    try {
      const forged = {
        ...(JSON.parse(original) as object),
        port: relay.port,
        url: `http://127.0.0.1:${relay.port}`,
      };
      await writeFile(path, JSON.stringify(forged));
      // The configured port is the real server's: the relayed proof is for its port, not the relay's.
      const relayEnv = cliEnv(platform.home, { AIXCL_PORT: String(platform.port) });
      const result = await runCli(["users", "list", "--json"], relayEnv);
      expect(result.code, result.stderr).toBe(0);
      expect(relay.requests.length).toBeGreaterThan(0);
      expect(relay.requests.every((r) => r.url.startsWith("/api/auth/local/identity?"))).toBe(true);
      expectNoToken(relay, token);
    } finally {
      await writeFile(path, original);
      await relay.close();
    }
  });
});

describe("no server of this home, something else listening", () => {
  let home: string;
  let decoy: Decoy;
  let recorded: Decoy;
  let env: NodeJS.ProcessEnv;
  const token = randomBytes(32).toString("base64url");
  const config = () => ({ home }) as Parameters<typeof serverRecordPath>[0];

  /** A token and a run/server.json as a crashed (or forged) server would leave them. */
  async function leaveRunFiles(pid: number): Promise<void> {
    await mkdir(join(home, "run"), { recursive: true, mode: 0o700 });
    await writeFile(localTokenPath(config()), token, { mode: 0o600 });
    const url = `http://127.0.0.1:${recorded.port}`;
    await writeFile(
      serverRecordPath(config()),
      JSON.stringify({
        pid,
        url,
        host: "127.0.0.1",
        port: recorded.port,
        started_at: new Date().toISOString(),
        identity: "hmac-sha256-port/1",
        instance: "forged",
      }),
      { mode: 0o600 },
    );
  }

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "aixcl-discovery-"));
    // A copy of the run's migrated template: this is about discovery, not a first start.
    await copyPgliteTemplate(join(home, "db"));
    decoy = await startDecoy();
    recorded = await startDecoy();
    env = cliEnv(home, { AIXCL_PORT: String(decoy.port) });
  });
  afterEach(() => {
    expectNoToken(decoy, token);
    expectNoToken(recorded, token);
  });
  afterAll(async () => {
    await decoy.close();
    await recorded.close();
    await rm(home, { recursive: true, force: true });
  });

  it("vault seal and unseal exit non-zero and say why; status says not running", async () => {
    await leaveRunFiles(process.pid);
    const seal = await runCli(["vault", "seal"], env);
    expect(seal.code).toBe(1);
    expect(seal.stderr).toContain("no aixcl server of this home is running");
    expect(seal.stderr).toContain("did not prove it is this home's server");
    expect(seal.stderr).toContain("nothing was sealed");

    expect((await runCli(["vault", "init"], env)).code).toBe(0);
    const unseal = await runCli(["vault", "unseal"], env);
    expect(unseal.code).toBe(1);
    expect(unseal.stderr).toContain("nothing was unsealed");

    const status = await runCli(["vault", "status"], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/server:\s+not running \(no server of this home answers/);
    // Both addresses were challenged; neither was sent the token (afterEach).
    expect(decoy.requests.length).toBeGreaterThan(0);
    expect(recorded.requests.length).toBeGreaterThan(0);
  });

  it("with the recorded process alive (a forged record), users work on the files and say why", async () => {
    await leaveRunFiles(process.pid);
    const result = await runCli(["users", "list", "--json"], env);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([]);
    expect(result.stderr).toContain("did not prove it is this home's server");
  });

  it("with the recorded process gone, users work on the files and say the record is stale", async () => {
    await leaveRunFiles(deadPid());
    const users = await runCli(["users", "list", "--json"], env);
    expect(users.code, users.stderr).toBe(0);
    expect(JSON.parse(users.stdout)).toEqual([]);
    expect(users.stderr).toMatch(
      /aixcl: note: no server of this home answers \(run\/server.json names .* is gone/,
    );
  });
});

describe("seal and unseal without any server", () => {
  it("exit non-zero: nothing was sealed or unsealed", async () => {
    const home = await mkdtemp(join(tmpdir(), "aixcl-discovery-none-"));
    try {
      const env = cliEnv(home, { AIXCL_PORT: String(await closedPort()) });
      const seal = await runCli(["vault", "seal"], env);
      expect(seal.code).toBe(1);
      expect(seal.stderr).toContain("no aixcl server of this home is running: nothing was sealed");
      expect((await runCli(["vault", "init"], env)).code).toBe(0);
      const unseal = await runCli(["vault", "unseal"], env);
      expect(unseal.code).toBe(1);
      expect(unseal.stderr).toContain("nothing was unsealed");
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
