/**
 * `aixcl utils doctor`: every check reports, and the ones that depend on this home are driven
 * into each state with real files, a real listener and the run's real PostgreSQL server.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import { cliEnv, closedPort, runCli } from "../run-cli.js";

interface Report {
  ok: boolean;
  checks: { name: string; status: "ok" | "warn" | "fail"; message: string; fix?: string }[];
}

const dirs: string[] = [];
const servers: Server[] = [];
afterAll(async () => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

function home(mode = 0o700): string {
  const dir = mkdtempSync(join(tmpdir(), "aixcl-doctor-"));
  dirs.push(dir);
  chmodSync(dir, mode);
  return dir;
}

async function doctor(env: NodeJS.ProcessEnv): Promise<{ code: number | null; report: Report }> {
  const result = await runCli(["utils", "doctor", "--json"], env);
  expect(result.stderr).toBe("");
  return { code: result.code, report: JSON.parse(result.stdout) as Report };
}

const check = (report: Report, name: string) => report.checks.find((c) => c.name === name);

describe.concurrent("aixcl utils doctor", () => {
  it("reports every check, each ok, warn or fail, with a fix for each that is not ok", async () => {
    const dir = home();
    const { code, report } = await doctor(cliEnv(dir, { AIXCL_PORT: String(await closedPort()) }));
    const names = [
      "config",
      "node",
      "disk home",
      "disk models",
      "memory",
      "cpu",
      "gpu",
      "port",
      "home",
      "database",
    ];
    expect(report.checks.map((c) => c.name)).toEqual(names);
    for (const c of report.checks) {
      expect(["ok", "warn", "fail"]).toContain(c.status);
      if (c.status !== "ok") expect(c.fix).toBeTruthy();
    }
    expect(check(report, "node")?.status).toBe("ok");
    expect(check(report, "port")?.message).toMatch(/is free$/);
    expect(check(report, "home")).toMatchObject({
      status: "ok",
      message: `${dir} is mode 0700, owned by you`,
    });
    expect(check(report, "database")?.message).toContain("not created yet");
    expect(check(report, "cpu")?.message).toMatch(/threads/);
    expect(check(report, "gpu")?.message).toBeTruthy();
    expect(code).toBe(report.checks.some((c) => c.status === "fail") ? 1 : 0);
    expect(report.ok).toBe(code === 0);
  });

  it("a taken port fails, naming the process that listens (this one), and the exit code is 1", async () => {
    const server = createServer();
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const env = cliEnv(home(), { AIXCL_PORT: String(port) });
    const { code, report } = await doctor(env);
    expect(check(report, "port")).toMatchObject({
      status: "fail",
      message: expect.stringContaining(`127.0.0.1:${port} is taken by `) as unknown,
      fix: expect.stringContaining("--port") as unknown,
    });
    expect(check(report, "port")?.message).toContain(`(pid ${process.pid})`);
    expect(code).toBe(1);
    expect(report.ok).toBe(false);

    const text = await runCli(["utils", "doctor"], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^fail {2}port +127\.0\.0\.1:\d+ is taken by .*\n +fix: stop what uses it/m);
  });

  it("a broken config.yaml is a failing check with a fix, and every other check still runs", async () => {
    const dir = home();
    writeFileSync(join(dir, "config.yaml"), "profile: full\n");
    const { code, report } = await doctor(cliEnv(dir, { AIXCL_PORT: String(await closedPort()) }));
    expect(check(report, "config")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("profile") as unknown,
      fix: expect.stringContaining("config.yaml") as unknown,
    });
    expect(report.checks).toHaveLength(10);
    expect(check(report, "home")?.status).toBe("ok");
    expect(code).toBe(1);
  });

  it("a home other users can reach warns with chmod 700", async () => {
    const dir = home(0o755);
    const { report } = await doctor(cliEnv(dir, { AIXCL_PORT: String(await closedPort()) }));
    expect(check(report, "home")).toMatchObject({ status: "warn", fix: `chmod 700 ${dir}` });
  });

  it("PGlite: a lock held by a live process that is not this home's server warns", async () => {
    const dir = home();
    mkdirSync(join(dir, "db"));
    writeFileSync(join(dir, "db.lock"), `${process.pid}\n`);
    const { report } = await doctor(cliEnv(dir, { AIXCL_PORT: String(await closedPort()) }));
    expect(check(report, "database")).toMatchObject({
      status: "warn",
      message: `PGlite in ${join(dir, "db")}: in use by process ${process.pid}`,
    });
    writeFileSync(join(dir, "db.lock"), `${2 ** 22 + 12345}\n`);
    const stale = await doctor(cliEnv(dir, { AIXCL_PORT: String(await closedPort()) }));
    expect(check(stale.report, "database")?.message).toContain("stale lock");
  });

  it("PostgreSQL: the run's server is reachable; a closed port fails", async () => {
    const pg = inject("postgres");
    const url = (port: number) => `postgres://${pg.user}@${pg.host}:${port}/postgres`;
    const up = await doctor(
      cliEnv(home(), { AIXCL_PORT: String(await closedPort()), AIXCL_DATABASE_URL: url(pg.port) }),
    );
    expect(check(up.report, "database")).toMatchObject({
      status: "ok",
      message: `PostgreSQL at ${pg.host}:${pg.port} accepts connections (credentials not checked)`,
    });
    const closed = await closedPort();
    const down = await doctor(
      cliEnv(home(), { AIXCL_PORT: String(await closedPort()), AIXCL_DATABASE_URL: url(closed) }),
    );
    expect(check(down.report, "database")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("ECONNREFUSED") as unknown,
    });
    expect(down.code).toBe(1);
  });
});
