import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { compiled, ROOT } from "../support/build.js";
import { runInProcess, type CliResult } from "../support/cli-in-process.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { helloModel } from "../support/scripted-models.js";
import { homeEnv } from "../support/serve-process.js";

/** Repository root: the CLI's working directory. */
export { ROOT };

/** `node` arguments that run `aixcl`: the run's compiled source (test/support/build.ts), not tsx. */
export function cliArgs(): string[] {
  return [compiled().cli];
}

export type { CliResult };

/**
 * A clean environment: nothing from the test runner's AIXCL_* variables leaks in, and HOME
 * points at a temp dir so ~/.aixcl is never the developer's.
 */
export function cliEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...homeEnv(home), ...extra };
}

/**
 * Commands whose own process is part of what their tests check: `serve` (signals, the logger's
 * fd 2, exit on a second Ctrl-C) and `db shell` (psql inherits the process's stdio). Every other
 * command line runs in the test's process (runAixcl with its own streams and environment,
 * src/cli/io.ts), which saves a node start and a module load (~0.5 s) per call.
 */
function needsProcess(args: string[]): boolean {
  return args[0] === "serve" || (args[0] === "db" && args[1] === "shell");
}

/** Runs `aixcl <args>` to completion, stdin empty. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  if (!needsProcess(args)) return runInProcess(args, env, "");
  return runCliProcess(args, env);
}

/**
 * Runs `aixcl <args>` in a process of its own to completion, stdin empty, and how long it took:
 * for what the process boundary is part of (`stack start` detaching a server, `serve`).
 */
export function runCliProcess(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<CliResult & { ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...cliArgs(), ...args],
      { cwd: ROOT, env, timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      },
    );
  });
}

/**
 * Starts `aixcl <args>` in the background (stdio piped). `processGroup` makes it lead a process
 * group of its own, as a shell job is, so a test can signal the whole group like Ctrl-C does.
 */
export function spawnCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { processGroup?: boolean } = {},
): ChildProcess {
  return spawn(process.execPath, [...cliArgs(), ...args], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.processGroup === true,
  });
}

/** Runs `aixcl <args>` with `input` written to its stdin, then EOF (a pipe, never a terminal). */
export function runCliWithInput(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<CliResult> {
  if (!needsProcess(args)) return runInProcess(args, env, input);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgs(), ...args], { cwd: ROOT, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdin.end(input);
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A port nothing listens on, for "no server running" cases: one below the kernel's ephemeral range,
 * checked free by binding it once. A port from the ephemeral range (a `listen(0)` then released)
 * can be handed at once to another test's `listen(0)` or outgoing connection, which then answers
 * in its place (a CI run got ECONNRESET where a closed port refuses); nothing is given a port
 * below that range unless it asks for it by number.
 */
export async function closedPort(): Promise<number> {
  const range = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8").catch(() => "32768");
  const ephemeralLow = Number(range.trim().split(/\s+/)[0]) || 32768;
  const low = Math.max(1024, ephemeralLow - 12_000);
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (ephemeralLow - low));
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port below the ephemeral range (${low}-${ephemeralLow - 1})`);
}

/**
 * A platform serving the scripted "hello" model (one thread: CLI tests spawn processes too) and
 * the CLI environment pointed at it.
 */
export async function startHelloPlatform(): Promise<{ platform: TestPlatform; env: NodeJS.ProcessEnv }> {
  const platform = await startTestPlatform({
    flags: { "engine.threads": 1 },
    models: [{ name: "hello", gguf: await helloModel() }],
  });
  return { platform, env: cliEnv(platform.home, { AIXCL_PORT: String(platform.port) }) };
}
