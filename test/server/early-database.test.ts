/**
 * `aixcl serve` opens an embedded database while the server's modules load (openDatabaseEarly,
 * src/cli/commands/serve.ts): the platform takes it as its own, closing it when it closes and when
 * its start fails, so a failed start never leaves the data directory locked.
 */
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { databasePath, loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/logger.js";
import { startPlatform } from "../../src/server/start.js";
import { openDatabaseEarly } from "../../src/store/open.js";
import { testEngineOptions } from "../support/build.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";

let dir: string;
let busy: Server;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-early-db-"));
  busy = createServer().listen(0, "127.0.0.1");
  await once(busy, "listening");
});
afterAll(async () => {
  busy.close();
  await rm(dir, { recursive: true, force: true });
});

const configAt = (home: string, settings: Record<string, unknown>) =>
  loadConfig({ flags: { home, "server.port": 0, ...settings }, env: {}, readFile: false });

it("opens nothing early in profile core or on PostgreSQL (its role password is in the vault)", async () => {
  expect(await openDatabaseEarly(configAt(join(dir, "core"), { profile: "core" }))).toBeUndefined();
  const external = configAt(join(dir, "pg"), { profile: "bld", "database.url": "postgres://127.0.0.1:1/x" });
  expect(await openDatabaseEarly(external)).toBeUndefined();
});

it("the platform closes the early PGlite database when its start fails, and when it closes", async () => {
  const home = join(dir, "home");
  const config = configAt(home, { profile: "bld" });
  await copyPgliteTemplate(databasePath(config));
  const port = (busy.address() as { port: number }).port;

  const taken = configAt(home, { profile: "bld", "server.port": port });
  const failing = await openDatabaseEarly(taken);
  if (!failing) throw new Error("PGlite should open early");
  await expect(startPlatform({ config: taken, logger: silentLogger(), ...failing })).rejects.toMatchObject({
    code: "config_invalid",
    param: "server.port",
  });
  const leftOpen = await failing.opening;
  await expect(leftOpen.query("SELECT 1")).rejects.toThrow();

  // The data directory is free again: the next start opens it and the platform uses what it got.
  const early = await openDatabaseEarly(config);
  if (!early) throw new Error("PGlite should open early");
  const platform = await startPlatform({
    config,
    logger: silentLogger(),
    engine: testEngineOptions(),
    ...early,
  });
  const db = await early.opening;
  try {
    expect(platform.deps.db).toBe(db);
    expect((await db.query<{ n: number }>("SELECT count(*)::int AS n FROM users")).rows[0]?.n).toBe(1);
  } finally {
    await platform.close();
  }
  await expect(db.query("SELECT 1")).rejects.toThrow();
});
