/**
 * `aixcl stack start|stop|restart`: `aixcl serve --detached` as a background process of its own
 * (a process group it leads, stdout and stderr to logs/serve.out, its JSON log in
 * logs/aixcl.log), recorded in run/stack.json and stopped by that record alone. One command at a
 * time per home (run/stack.lock).
 */
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { HealthWire } from "../../../api/admin-wire.js";
import { createJsonRequest } from "../../../api/admin-request.js";
import { readLocalToken } from "../../../auth/local-token.js";
import { readServerRecord } from "../../../auth/server-record.js";
import { listenerOf } from "../../../lib/port-owner.js";
import { processAlive, processGroupAlive, processStartTime } from "../../../lib/processes.js";
import { localTokenPath, serverRecordPath } from "../../../config/load.js";
import type { Config } from "../../../config/schema.js";
import { AppError } from "../../../errors.js";
import { LOG_FILE } from "../../../logger.js";
import { entryPoint } from "../../../package-paths.js";
import type { ExitCode } from "../../command.js";
import { findLocalServer } from "../../admin-session.js";
import { clientUrl } from "../../connection.js";
import { cliIo } from "../../io.js";
import { writeDrainHint } from "../../drain-hint.js";
import { printErr, printOut } from "../../output.js";
import {
  acquireStackLock,
  isRecordedServer,
  readStackRecord,
  removeRunFiles,
  removeStaleRunFiles,
  serveOutputPath,
  writeStackRecord,
  type StackRecord,
} from "./run-files.js";

/** `dist/cli/main.js` (or `src/cli/main.ts` under tsx): what the detached server runs. */
const CLI_MAIN = entryPoint("cli/main");

export interface StartOptions {
  profile: Config["profile"];
  /** `--port`, passed to `serve` as given. */
  port?: string;
  /** Seconds to wait for the server to become healthy. */
  timeoutS: number;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Waits until the group of `pid` is empty; false when `ms` ran out first. */
async function waitForGroupExit(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (processGroupAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/** The last lines the server printed (its errors before or instead of logging), for a failure. */
async function lastWords(config: Readonly<Config>): Promise<string | undefined> {
  const text = await readFile(serveOutputPath(config), "utf8").catch(() => "");
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const error = lines.reverse().find((line) => line.startsWith("aixcl:"));
  return error?.replace(/^aixcl:\s*/, "") ?? lines[0];
}

/** The reason a server process that exited gave, as the user should read it. */
async function exitReason(
  config: Readonly<Config>,
  code: number | null,
  signal: string | null,
): Promise<string> {
  const said = await lastWords(config);
  const how = signal !== null ? `was killed by ${signal}` : `exited with status ${code ?? "unknown"}`;
  if (said === undefined) return `the server ${how} (see ${serveOutputPath(config)})`;
  const port = /cannot listen on (\S+?):(\d+): EADDRINUSE/.exec(said);
  if (port) {
    const owner = await listenerOf(Number(port[2])).catch(() => undefined);
    const by = owner === undefined ? "" : ` by ${owner.name} (pid ${owner.pid})`;
    return `port ${port[2]} is already in use${by} (on ${port[1]}): set another with --port or server.port`;
  }
  return `the server ${how}: ${said}`;
}

interface Healthy {
  url: string;
  health: HealthWire;
}

type Progress =
  | { state: "waiting"; why: string }
  | { state: "exited"; code: number | null; signal: string | null }
  | ({ state: "up" } & Healthy);

/** One look at the starting server `pid`: its record, /api/health, then /api/admin/health. */
async function probe(config: Readonly<Config>, pid: number): Promise<Progress> {
  const read = await readServerRecord(serverRecordPath(config));
  if (read.state !== "found" || read.record.pid !== pid)
    return { state: "waiting", why: "it is not listening yet" };
  const url = clientUrl(read.record.host, read.record.port);
  try {
    const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
    await response.arrayBuffer();
    if (!response.ok) return { state: "waiting", why: `GET /api/health answered ${response.status}` };
  } catch (error) {
    return { state: "waiting", why: `GET /api/health failed: ${(error as Error).message}` };
  }
  const token = await readLocalToken(localTokenPath(config));
  if (token === undefined) return { state: "waiting", why: "run/admin.token is not written yet" };
  try {
    const health = await createJsonRequest({ baseUrl: url, token }).json<HealthWire>(
      "GET",
      "/api/admin/health",
    );
    return { state: "up", url, health };
  } catch (error) {
    return { state: "waiting", why: `GET /api/admin/health failed: ${(error as Error).message}` };
  }
}

/**
 * Loads Node's fetch while the server starts. Node builds it on first use: the first request
 * took ~60 ms here against ~18 ms once loaded, and without this that first request is the first
 * look at a server already listening, so every start waited for it.
 */
function warmFetch(): void {
  void fetch("data:,")
    .then((response) => response.arrayBuffer())
    .catch(() => undefined);
}

/** Why a running server is not healthy (empty when it is). */
function unhealthyReasons(health: HealthWire): string[] {
  const reasons: string[] = [];
  const { components } = health;
  if (components.database?.status === "down")
    reasons.push(`database unreachable: ${components.database.error}`);
  if (components.vault?.sealed === true) reasons.push("vault sealed: run `aixcl vault unseal`");
  if (components.models?.status === "degraded")
    reasons.push(`less than 1 GiB free on the disk of ${components.models.path}`);
  return reasons;
}

async function spawnServer(config: Readonly<Config>, options: StartOptions): Promise<number> {
  await mkdir(join(config.home, "logs"), { recursive: true, mode: 0o700 });
  const out = openSync(serveOutputPath(config), "w", 0o600);
  try {
    const args = [
      ...process.execArgv,
      CLI_MAIN,
      "serve",
      "--detached",
      "--profile",
      options.profile,
      ...(options.port !== undefined ? ["--port", options.port] : []),
    ];
    const child = spawn(process.execPath, args, {
      cwd: config.home,
      env: cliIo().env,
      detached: true,
      stdio: ["ignore", out, out],
    });
    const pid = child.pid;
    if (pid === undefined) {
      throw new AppError("internal", `cannot start ${process.execPath}`);
    }
    // The exit status, if it dies while this command still waits for it.
    child.once("exit", (code, signal) => {
      exits.set(pid, { code, signal });
    });
    child.unref();
    return pid;
  } finally {
    closeSync(out);
  }
}

const exits = new Map<number, { code: number | null; signal: string | null }>();

/** Starts the detached server (the lock held) and waits for it; leaves nothing running on failure. */
async function startLocked(config: Readonly<Config>, options: StartOptions): Promise<ExitCode> {
  const removed = await removeStaleRunFiles(config);
  if (removed.length > 0) {
    await printErr(
      `aixcl: note: a server of this home stopped without cleaning up; removed ${removed.join(", ")}`,
    );
  }
  const recorded = await readStackRecord(config);
  if (recorded !== undefined) {
    await printErr(
      `aixcl: already running (pid ${recorded.pid}, profile ${recorded.profile}); see \`aixcl stack status\``,
    );
    return 1;
  }
  const found = await findLocalServer(config);
  if (found.running) {
    await printErr(
      `aixcl: a server of this home already runs at ${found.server.baseUrl} (not started by \`aixcl stack start\`: stop it where it runs)`,
    );
    return 1;
  }

  const pid = await spawnServer(config, options);
  warmFetch();
  const record: StackRecord = {
    pid,
    start_time: processStartTime(pid),
    profile: options.profile,
    ...(options.port !== undefined ? { port: options.port } : {}),
    started_at: new Date().toISOString(),
  };
  await writeStackRecord(config, record);

  const deadline = Date.now() + options.timeoutS * 1000;
  let why = "it did not answer";
  let failure: string | undefined;
  let up: Healthy | undefined;
  for (;;) {
    const exit = exits.get(pid);
    if (exit !== undefined || !processAlive(pid)) {
      failure = await exitReason(config, exit?.code ?? null, exit?.signal ?? null);
      break;
    }
    const progress = await probe(config, pid);
    if (progress.state === "up") {
      up = progress;
      break;
    }
    if (progress.state === "waiting") why = progress.why;
    if (Date.now() >= deadline) {
      failure = `the server did not become healthy within ${options.timeoutS} s (${why}); its log: ${join(config.home, "logs", LOG_FILE)}`;
      break;
    }
    // Short: each look is two local requests at most, and every 100 ms waited here is 100 ms
    // more on every start (the server answers healthy a few ms after it listens).
    await sleep(20);
  }

  if (up === undefined) {
    killGroup(pid, "SIGKILL");
    await waitForGroupExit(pid, 5000);
    await removeRunFiles(config, pid);
    await printErr(`aixcl: cannot start: ${failure ?? why}`);
    return 1;
  }

  const lines = [`aixcl started (pid ${pid}, profile ${options.profile})`, `  API:      ${up.url}`];
  if (options.profile === "sys") lines.push(`  web app:  ${up.url}/`);
  if (options.profile !== "core") {
    lines.push("  log in as the admin `aixcl vault credentials` shows (web app and `aixcl users`)");
  }
  lines.push(
    "  status:   aixcl stack status",
    `  logs:     aixcl stack logs -f   (${join(config.home, "logs", LOG_FILE)})`,
    "  stop:     aixcl stack stop",
  );
  await printOut(lines.join("\n"));
  const reasons = unhealthyReasons(up.health);
  if (reasons.length > 0) {
    // Still running: unsealing the vault, for one, needs the server.
    await printErr(`aixcl: started but not healthy: ${reasons.join("; ")}`);
    return 1;
  }
  return 0;
}

export async function stackStart(config: Readonly<Config>, options: StartOptions): Promise<ExitCode> {
  // A start or stop under way finishes first (this start then finds the server it started).
  const lock = await acquireStackLock(config, (options.timeoutS + 10) * 1000);
  try {
    return await startLocked(config, options);
  } finally {
    await lock.release();
  }
}

/**
 * Stops the recorded server (the lock held): SIGTERM to it, then after `timeoutS` SIGKILL to its
 * process group (it and its runners). Returns the record of what was stopped, or undefined when
 * nothing of this home's stack ran.
 */
/** Seconds of `stack stop --timeout` kept for the server's close after its drain. */
const STOP_MARGIN_S = 3;

async function stopLocked(config: Readonly<Config>, timeoutS: number): Promise<StackRecord | undefined> {
  const record = await readStackRecord(config);
  if (record === undefined || !(await isRecordedServer(config, record))) {
    await removeStaleRunFiles(config);
    return undefined;
  }
  const { pid } = record;
  // In-flight requests get the grace period but STOP_MARGIN_S, which unloading the runners and
  // closing the database take before the SIGKILL deadline.
  await writeDrainHint(config, Math.max(0, timeoutS - STOP_MARGIN_S));
  process.kill(pid, "SIGTERM");
  if (!(await waitForGroupExit(pid, timeoutS * 1000))) {
    await printErr(
      `aixcl: the server did not stop within ${timeoutS} s: killing it (pid ${pid}) and its runners`,
    );
    killGroup(pid, "SIGKILL");
    if (!(await waitForGroupExit(pid, 5000))) {
      throw new AppError("internal", `process group ${pid} is still alive after SIGKILL`);
    }
  }
  await removeRunFiles(config, pid);
  return record;
}

export async function stackStop(config: Readonly<Config>, timeoutS: number): Promise<ExitCode> {
  const lock = await acquireStackLock(config, (timeoutS + 10) * 1000);
  try {
    const stopped = await stopLocked(config, timeoutS);
    if (stopped === undefined) {
      const found = await findLocalServer(config);
      if (found.running) {
        await printErr(
          `aixcl: the server at ${found.server.baseUrl} was not started by \`aixcl stack start\`: stop it where it runs`,
        );
        return 1;
      }
      await printOut("aixcl is not running");
      return 0;
    }
    await printOut(`aixcl stopped (pid ${stopped.pid})`);
    return 0;
  } finally {
    await lock.release();
  }
}

export async function stackRestart(
  config: Readonly<Config>,
  options: { profile?: Config["profile"]; timeoutS: number; stopTimeoutS: number },
): Promise<ExitCode> {
  const lock = await acquireStackLock(config, (options.stopTimeoutS + 10) * 1000);
  try {
    const stopped = await stopLocked(config, options.stopTimeoutS);
    if (stopped !== undefined) await printOut(`aixcl stopped (pid ${stopped.pid})`);
    const profile = options.profile ?? stopped?.profile ?? config.profile;
    const port = stopped?.port;
    return await startLocked(config, {
      profile,
      timeoutS: options.timeoutS,
      ...(port !== undefined ? { port } : {}),
    });
  } finally {
    await lock.release();
  }
}
