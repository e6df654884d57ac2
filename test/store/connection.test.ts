import { createServer, type Server, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { Config } from "../../src/config/schema.js";
import { checkDatabaseUrl, openDatabase } from "../../src/store/open.js";
import { openPostgres } from "../../src/store/postgres.js";
import { SCHEMA_VERSION } from "../../src/store/migrations.js";
import { schemaVersion } from "../../src/store/migrate.js";
import { rejectedAppError, thrownAppError } from "../support/app-error.js";
import { createPostgresDatabase, postgresAdmin, type PostgresDatabase } from "../support/databases.js";

function configWith(env: Record<string, string>): Readonly<Config> {
  return loadConfig({ env: { HOME: "/nonexistent", ...env }, readFile: false });
}

/** A URL with `password` in place of the database's own (percent-encoded as a user would). */
function withPassword(database: PostgresDatabase, password: string): string {
  const url = new URL(database.url);
  url.password = encodeURIComponent(password);
  return url.href;
}

/** This machine's first non-loopback IPv4 address: a "remote" host that is still reachable. */
function outsideAddress(): string | undefined {
  for (const entries of Object.values(networkInterfaces())) {
    for (const entry of entries ?? []) if (entry.family === "IPv4" && !entry.internal) return entry.address;
  }
  return undefined;
}

describe("connecting to PostgreSQL", () => {
  let database: PostgresDatabase;
  beforeAll(async () => {
    database = await createPostgresDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it("the role's password really holds URL and SQL special characters", () => {
    for (const char of ["@", ":", "/", "?", "#", "%", "'", '"', "\\", " ", "&", "="]) {
      expect(database.password).toContain(char);
    }
  });

  it("opens and migrates a database through config database.url (flag or AIXCL_DATABASE_URL)", async () => {
    const fromEnv = await openDatabase(configWith({ AIXCL_DATABASE_URL: database.url }));
    try {
      expect(fromEnv.engine).toBe("postgres");
      expect(await schemaVersion(fromEnv)).toBe(SCHEMA_VERSION);
      const who = await fromEnv.query<{ user: string; superuser: string }>(
        "SELECT current_user AS user, current_setting('is_superuser') AS superuser",
      );
      expect(who.rows[0]).toEqual({ user: database.role, superuser: "off" });
    } finally {
      await fromEnv.close();
      await fromEnv.close();
    }
    const config = loadConfig({
      env: { HOME: "/nonexistent" },
      readFile: false,
      flags: { "database.url": database.url.replace(/^postgres:/, "postgresql:") },
    });
    const fromFlag = await openDatabase(config);
    expect(await schemaVersion(fromFlag)).toBe(SCHEMA_VERSION);
    await fromFlag.close();
  });

  it("a wrong password is a clear error that never contains the password", async () => {
    const wrong = `${database.password}-WRONG-p@ss:w/rd`;
    const error = await rejectedAppError(
      openDatabase(configWith({ AIXCL_DATABASE_URL: withPassword(database, wrong) })),
    );
    expect(error.code).toBe("database_error");
    expect(error.message).toMatch(/cannot connect to PostgreSQL: password authentication failed/);
    const everything = `${error.message}\n${error.stack ?? ""}\n${inspect(error, { depth: 10, showHidden: true })}`;
    for (const secret of [wrong, database.password, encodeURIComponent(wrong)]) {
      expect(everything).not.toContain(secret);
    }
  });

  it("a password given as a function is used instead of the URL's (managed roles)", async () => {
    const db = await openPostgres({
      url: withPassword(database, "stale"),
      poolSize: 2,
      password: () => Promise.resolve(database.password),
    });
    try {
      expect((await db.query<{ ok: number }>("SELECT 1 AS ok")).rows).toEqual([{ ok: 1 }]);
    } finally {
      await db.close();
    }
  });

  it("a server that is not listening is a database error, not a crash", async () => {
    const admin = postgresAdmin();
    const closed = new URL(database.url);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, admin.host, resolve));
    closed.port = String((probe.address() as { port: number }).port);
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const error = await rejectedAppError(openDatabase(configWith({ AIXCL_DATABASE_URL: closed.href })));
    expect(error.code).toBe("database_error");
    expect(error.message).not.toContain(database.password);
  });
});

describe("database.url TLS rule", () => {
  let listener: Server;
  let port: number;
  const sockets: Socket[] = [];
  const host = outsideAddress() ?? "192.0.2.1";
  beforeAll(async () => {
    // A TCP listener on a non-loopback address: any connection attempt would show up here.
    listener = createServer((socket) => {
      sockets.push(socket);
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, "0.0.0.0", resolve));
    port = (listener.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => listener.close(() => resolve()));
  });

  const refusals: [string, (port: number) => string][] = [
    ["no sslmode", (p) => `postgres://u:s3cr3t-p%40ss@${host}:${p}/db`],
    [
      "sslmode=require (no server verification)",
      (p) => `postgres://u:s3cr3t-p%40ss@${host}:${p}/db?sslmode=require`,
    ],
    ["sslmode=disable", (p) => `postgres://u:s3cr3t-p%40ss@${host}:${p}/db?sslmode=disable`],
    [
      "a host parameter pointing away from loopback",
      (p) => `postgres://u:s3cr3t-p%40ss@127.0.0.1:${p}/db?host=${host}`,
    ],
    [
      "an empty host parameter (falls back to the URL host)",
      (p) => `postgres://u:s3cr3t-p%40ss@${host}:${p}/db?host=`,
    ],
    [
      "a repeated sslmode (the driver keeps the last one)",
      (p) => `postgres://u:s3cr3t-p%40ss@${host}:${p}/db?sslmode=verify-full&sslmode=disable`,
    ],
    [
      "a repeated host (the driver keeps the last one)",
      (p) => `postgres://u:s3cr3t-p%40ss@${host}:${p}/db?host=127.0.0.1&sslmode=require&host=${host}`,
    ],
  ];
  for (const [name, url] of refusals) {
    it(`refuses a non-loopback host with ${name}, naming database.url, without connecting`, async () => {
      const error = await rejectedAppError(openDatabase(configWith({ AIXCL_DATABASE_URL: url(port) })));
      expect(error.code).toBe("config_invalid");
      expect(error.param).toBe("database.url");
      expect(error.message).toContain("database.url");
      expect(error.message).not.toContain("s3cr3t");
      expect(sockets).toHaveLength(0);
    });
  }

  it("lets sslmode=verify-full through to a TLS connection attempt", async () => {
    const url = `postgres://u:s3cr3t-p%40ss@${host}:${port}/db?sslmode=verify-full`;
    expect(checkDatabaseUrl(url).hostname).toBe(host);
    if (host === outsideAddress()) {
      const error = await rejectedAppError(openDatabase(configWith({ AIXCL_DATABASE_URL: url })));
      expect(error.code).toBe("database_error");
      expect(error.message).not.toContain("s3cr3t");
      expect(sockets.length).toBeGreaterThan(0);
    }
  });

  it("accepts loopback hosts and unix sockets without TLS, and refuses what is not a postgres URL", () => {
    for (const url of [
      "postgres://u:p@127.0.0.1:5432/db",
      "postgres://u:p@localhost/db",
      "postgres://u:p@[::1]:5432/db",
      "postgresql://u:p@LOCALHOST/db",
      "postgres://u:p@localhost/db?host=/var/run/postgresql",
    ]) {
      expect(() => checkDatabaseUrl(url), url).not.toThrow();
    }
    for (const url of ["mysql://u:p@127.0.0.1/db", "not a url s3cr3t", "http://127.0.0.1/"]) {
      const error = thrownAppError(() => checkDatabaseUrl(url));
      expect(error.code).toBe("config_invalid");
      expect(error.message).not.toContain("s3cr3t");
    }
  });
});
