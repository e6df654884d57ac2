/**
 * `aixcl stack init|start|stop|status|logs` with real processes: a fresh home initialized, the
 * server started detached (the compiled CLI, as an installed `aixcl` runs), healthy, answering a
 * generate, stopped within its grace period with nothing left; a second start refused; a kill -9
 * recovered (stale lock, pid and server record) with the users kept; a taken port named.
 * `start`, `stop` and `restart` run as their own processes (they spawn the compiled CLI);
 * `init`, `status` and `logs` run in this process.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StackStatus } from "../../src/cli/commands/stack/status.js";
import { processAlive } from "../../src/lib/processes.js";
import { createRotatingFile } from "../../src/lib/rotating-file.js";
import { runInProcess } from "../support/cli-in-process.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";
import { helloModel } from "../support/scripted-models.js";
import { installModel } from "../support/test-models.js";
import { cliArgs, cliEnv, closedPort, ROOT, runCliProcess } from "./run-cli.js";

/** `aixcl <args>` as its own process of the compiled build. */
const aixclProcess = (args: string[], env: NodeJS.ProcessEnv) => runCliProcess(args, env, 90_000);

const stackJson = async (home: string): Promise<{ pid: number; profile: string }> =>
  JSON.parse(await readFile(join(home, "run", "stack.json"), "utf8")) as { pid: number; profile: string };

async function status(env: NodeJS.ProcessEnv): Promise<{ code: number | null; status: StackStatus }> {
  const result = await runInProcess(["stack", "status", "--json"], env);
  return { code: result.code, status: JSON.parse(result.stdout) as StackStatus };
}

describe("aixcl stack", () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  /** Every server pid a test started, killed in afterAll should a test fail midway. */
  const started: number[] = [];

  beforeAll(async () => {
    home = join(await mkdtemp(join(tmpdir(), "aixcl-stack-")), "home");
    env = cliEnv(home, { AIXCL_THREADS: "1" });
  });
  afterAll(async () => {
    for (const pid of started) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    await rm(join(home, ".."), { recursive: true, force: true });
  });

  it("init creates a home (0700, config.yaml with the choices, vault, admin) and changes nothing when re-run", async () => {
    // The migrated template where init opens the database: initdb (PGlite's, 4-10 s of CPU) is
    // what the first-start tests cover; the directory is 0755, as a user's mkdir leaves it.
    await copyPgliteTemplate(join(home, "db"));
    // A failed init leaves nothing that would make the next one say "already initialized".
    const unreachable = `postgres://aixcl@127.0.0.1:${await closedPort()}/aixcl`;
    for (const url of ["notaurl", unreachable]) {
      const failed = await runInProcess(["stack", "init", "--database-url", url], env);
      expect(failed.code).not.toBe(0);
      expect(failed.stderr).toMatch(/database|PostgreSQL/);
      expect(existsSync(join(home, "config.yaml"))).toBe(false);
      expect(existsSync(join(home, "vault"))).toBe(false);
    }
    const init = await runInProcess(["stack", "init", "--port", "0"], env);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain("aixcl stack start");
    expect(init.stdout).toContain("aixcl vault credentials");
    expect((await stat(home)).mode & 0o777).toBe(0o700);
    const config = await readFile(join(home, "config.yaml"), "utf8");
    expect(config).toMatch(/^server:\n {2}# .*\n {2}port: 0$/m);
    expect(config).toMatch(/^# profile: sys$/m);
    const credentials = await runInProcess(["vault", "credentials"], env);
    expect(credentials.stdout).toMatch(/user:\s+admin/);

    const again = await runInProcess(["stack", "init", "--profile", "core"], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("already initialized");
    expect(await readFile(join(home, "config.yaml"), "utf8")).toBe(config);
    await installModel(join(home, "models"), "hello", await helloModel());
    // A database that opens fast: each start here pays for its shared buffers (~4 ms per MiB).
    await writeFile(join(home, "config.yaml"), `${config}database:\n  pglite_buffers_mb: 16\n`);
  });

  it("start runs the server detached until it is healthy; status lists every component of the profile; a generate works; a second start is refused", async () => {
    const start = await aixclProcess(["stack", "start"], env);
    expect(start.code, start.stderr).toBe(0);
    const { pid } = await stackJson(home);
    started.push(pid);
    const url = /API:\s+(\S+)/.exec(start.stdout)?.[1];
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(start.stdout).toContain(`web app:  ${url}/`);

    const response = await fetch(`${url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({ model: "hello", prompt: "hi", stream: false }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { response: string }).response).toBe("Hello world!");

    const { code, status: current } = await status(env);
    expect(current.running).toBe(true);
    expect(current.pid).toBe(pid);
    expect(current.components.map((c) => c.name)).toEqual([
      "api",
      "engine",
      "runner hello:latest",
      "models",
      "database",
      "vault",
      "web",
      "metrics",
    ]);
    expect(current.components.filter((c) => c.status !== "healthy")).toEqual([]);
    expect(code).toBe(0);
    const table = await runInProcess(["stack", "status"], env);
    expect(table.stdout).toMatch(/^runner hello:latest\s+healthy\s+pid \d+, .*slots 0\/\d+ busy$/m);

    const second = await aixclProcess(["stack", "start"], env);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`already running (pid ${pid}`);
    expect((await stackJson(home)).pid).toBe(pid);

    const logs = await runInProcess(["stack", "logs", "-n", "1000", "--level", "info", "--json"], env);
    const lines = logs.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { level: number; msg: string; pid: number });
    expect(lines.every((line) => line.level >= 30)).toBe(true);
    expect(lines.some((line) => line.msg === "aixcl listening" && line.pid === pid)).toBe(true);
    const pretty = await runInProcess(["stack", "logs", "-n", "1"], env);
    expect(pretty.stdout).toMatch(/^\[.*\] (INFO|DEBUG|WARN)/);
  });

  it("after a kill -9 (and a stale lock), start recovers with the users intact; stop ends it within the grace period", async () => {
    const { pid } = await stackJson(home);
    const before = await status(env);
    const runnerPids = before.status.components
      .flatMap((c) => /^pid (\d+)/.exec(c.detail)?.slice(1) ?? [])
      .map(Number);
    expect(runnerPids.length).toBeGreaterThan(0);
    // Hung (stopped): its process runs, so status says it does not answer, not that it is gone.
    process.kill(pid, "SIGSTOP");
    try {
      const hung = await status(env);
      expect(hung.code).toBe(1);
      expect(hung.status).toMatchObject({
        running: true,
        pid,
        components: [{ name: "api", status: "down" }],
      });
      expect(hung.status.reason).toMatch(new RegExp(`process ${pid} is alive but does not answer`));
    } finally {
      process.kill(pid, "SIGCONT");
    }
    process.kill(pid, "SIGKILL");
    await expect.poll(() => processAlive(pid)).toBe(false);
    // Its runner notices and exits by itself.
    for (const runner of runnerPids) await expect.poll(() => processAlive(runner)).toBe(false);
    // A `stack` command killed while it held the lock, whose pid another process has now (this
    // one, started at another time than the lock says): the lock is stale all the same.
    await writeFile(join(home, "run", "stack.lock"), `${process.pid} 1\n`);
    expect(await status(env)).toMatchObject({ code: 1, status: { running: false } });

    const start = await aixclProcess(["stack", "start", "--profile", "bld"], env);
    expect(start.code, start.stderr).toBe(0);
    expect(start.stderr).toContain("stopped without cleaning up");
    const recovered = await status(env);
    started.push(recovered.status.pid ?? 0);
    expect(recovered.status.pid).not.toBe(pid);
    const users = await runInProcess(["users", "list", "--json"], env);
    expect((JSON.parse(users.stdout) as { username: string }[]).map((u) => u.username)).toEqual(["admin"]);

    // restart: a new process with the profile of the start it replaces (the home's config says sys).
    const restart = await aixclProcess(["stack", "restart"], env);
    expect(restart.code, restart.stderr).toBe(0);
    const after = await status(env);
    const restarted = after.status.pid ?? 0;
    started.push(restarted);
    expect(restarted).not.toBe(recovered.status.pid);
    expect(processAlive(recovered.status.pid ?? 0)).toBe(false);
    expect(after).toMatchObject({ code: 0, status: { running: true, profile: "bld" } });

    // config.yaml broken by an edit while the server runs: status and stop still reach it.
    const configFile = join(home, "config.yaml");
    const saved = await readFile(configFile, "utf8");
    await writeFile(configFile, "profile: full\n");
    const broken = await runInProcess(["stack", "status", "--json"], env);
    expect(broken.stderr).toMatch(/^aixcl: note: .*profile.*; going on with the defaults/);
    expect(JSON.parse(broken.stdout)).toMatchObject({ running: true, pid: restarted });
    const stop = await aixclProcess(["stack", "stop", "--timeout", "10"], env);
    await writeFile(configFile, saved);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`stopped (pid ${restarted})`);
    expect(stop.stderr).not.toContain("killing");
    expect(stop.ms).toBeLessThan(10_000);
    expect(processAlive(restarted)).toBe(false);
    expect((await readdir(join(home, "run"))).sort()).toEqual([]);
    expect(await status(env)).toMatchObject({ code: 1, status: { running: false } });
    const again = await aixclProcess(["stack", "stop"], env);
    expect(again).toMatchObject({ code: 0, stdout: "aixcl is not running\n" });
  });

  it("a port already taken: start fails naming the port and leaves nothing running", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      const start = await aixclProcess(["stack", "start", "--profile", "core", "--port", String(port)], env);
      expect(start.code).toBe(1);
      // Named with the process that holds it: this test's own.
      expect(start.stderr).toMatch(
        new RegExp(`port ${port} is already in use by \\S.* \\(pid ${process.pid}\\)`),
      );
      expect(existsSync(join(home, "run", "stack.json"))).toBe(false);
      expect(existsSync(join(home, "run", "server.json"))).toBe(false);
      expect(existsSync(join(home, "run", "stack.lock"))).toBe(false);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it("the log rotates by size, and `stack logs` reads across the rotated files", async () => {
    const dir = await mkdtemp(join(tmpdir(), "aixcl-stack-logs-"));
    try {
      const path = join(dir, "logs", "aixcl.log");
      const file = createRotatingFile({ path, maxBytes: 1000, files: 3 });
      const line = (i: number) =>
        `${JSON.stringify({ level: i % 2 === 0 ? 30 : 50, msg: `line ${i}`.padEnd(80) })}\n`;
      for (let i = 0; i < 100; i++) file.write(line(i));
      file.close();
      const names = (await readdir(join(dir, "logs"))).sort();
      expect(names).toEqual(["aixcl.log", "aixcl.log.1", "aixcl.log.2"]);
      for (const name of names) expect((await stat(join(dir, "logs", name))).size).toBeLessThanOrEqual(1000);

      const logs = await runInProcess(
        ["stack", "logs", "-n", "10", "--level", "error", "--json"],
        cliEnv(dir),
      );
      const shown = logs.stdout
        .trim()
        .split("\n")
        .map((text) => (JSON.parse(text) as { msg: string }).msg.trim());
      expect(shown.length).toBe(10);
      expect(shown.at(-1)).toBe("line 99");
      expect(shown[0]).toBe("line 81");

      // -f: what is written next, through a rotation, until Ctrl-C (exit 0).
      const follower = spawn(process.execPath, [...cliArgs(), "stack", "logs", "-f", "-n", "0", "--json"], {
        cwd: ROOT,
        env: cliEnv(dir),
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      follower.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => follower.once("exit", resolve));
      // -f prints what is written after its first read of the file, and a line written before that
      // read is history (-n 0 shows none of it): the follower holding the file open does not say
      // which side of the read a write lands. Markers are written until one comes out.
      const markers = createRotatingFile({ path, maxBytes: 1_000_000, files: 3 });
      for (let marker = 0; !out.includes('"ready ') && follower.exitCode === null; marker++) {
        if (marker > 200) throw new Error(`stack logs -f printed no marker: ${out}`);
        markers.write(`${JSON.stringify({ level: 50, msg: `ready ${marker}` })}\n`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      markers.close();
      // One rotation in the 20 lines (~2 KB): the file takes ~1.1 KB more than it holds. -f reads
      // the old file to its end, then the new one from its start.
      const more = createRotatingFile({ path, maxBytes: (await stat(path)).size + 1100, files: 3 });
      for (let i = 100; i < 120; i++) more.write(line(i));
      more.close();
      expect(await readFile(`${path}.1`, "utf8")).toContain('"line 100');
      expect(await readFile(path, "utf8")).toContain('"line 119');
      await expect.poll(() => out.includes("line 119")).toBe(true);
      follower.kill("SIGINT");
      expect(await exited).toBe(0);
      const followed = out
        .trim()
        .split("\n")
        .map((text) => (JSON.parse(text) as { msg: string }).msg.trim());
      expect(followed.filter((msg) => !msg.startsWith("ready "))).toEqual(
        Array.from({ length: 20 }, (_, i) => `line ${100 + i}`),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
