/**
 * `aixcl utils doctor [--json]`: checks what aixcl needs from this machine and this home — Node,
 * free disk and memory, the CPU features and GPU backends llama.cpp can use, the server port, the
 * home's permissions and the database — each ok, warn or fail with a hint to fix it. Exits 0
 * only when nothing fails. Every check is bounded in time (no check waits more than
 * CHECK_TIMEOUT_MS) and changes nothing.
 */
import { readFile, stat, statfs } from "node:fs/promises";
import { createConnection, createServer } from "node:net";
import { arch, cpus, freemem, totalmem } from "node:os";
import { Command } from "commander";
import { readServerRecord } from "../../../auth/server-record.js";
import { processAlive } from "../../../lib/processes.js";
import { databasePath, modelsPath, serverRecordPath } from "../../../config/load.js";
import type { Config } from "../../../config/schema.js";
import { existingAncestor, isMissingPath } from "../../../lib/files.js";
import { listenerOf } from "../../../lib/port-owner.js";
import type { RunCommand } from "../../command.js";
import { runFilesConfig } from "../../io.js";
import { printOut } from "../../output.js";
import { formatBytes } from "../../progress.js";

const CHECK_TIMEOUT_MS = 3000;
const GIB = 1024 ** 3;

type Status = "ok" | "warn" | "fail";

interface Check {
  name: string;
  status: Status;
  message: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

const ok = (name: string, message: string): Check => ({ name, status: "ok", message });
const warn = (name: string, message: string, fix: string): Check => ({ name, status: "warn", message, fix });
const fail = (name: string, message: string, fix: string): Check => ({ name, status: "fail", message, fix });

/** `promise`, or `fallback()` if it has not settled within `ms`. */
function withTimeout<T>(promise: Promise<T>, ms: number, fallback: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function checkNode(): Check {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const version = `Node ${process.versions.node}`;
  if (major < 20)
    return fail("node", `${version}: aixcl needs Node 20.19 or newer`, "install Node 20.19+ (e.g. with nvm)");
  if (major === 20 && minor < 19)
    return warn("node", `${version}: package.json asks for 20.19 or newer`, "upgrade Node to 20.19+");
  return ok("node", version);
}

async function checkDisk(name: string, path: string, warnBelow: number): Promise<Check> {
  try {
    const at = await existingAncestor(path);
    const fs = await statfs(at);
    const free = fs.bavail * fs.bsize;
    const message = `${formatBytes(free)} free at ${at}`;
    if (free < 256 * 1024 * 1024) return fail(name, message, `free space on the file system of ${path}`);
    if (free < warnBelow) {
      return warn(name, message, `models need several GB each: free space on the file system of ${path}`);
    }
    return ok(name, message);
  } catch (error) {
    return fail(
      name,
      `cannot measure ${path}: ${(error as Error).message}`,
      `check that ${path} is accessible`,
    );
  }
}

function checkMemory(): Check {
  const free = freemem();
  const message = `${formatBytes(free)} available of ${formatBytes(totalmem())}`;
  if (free < 1 * GIB)
    return warn("memory", message, "only the smallest models fit: close other programs or add memory");
  return ok("memory", message);
}

async function checkCpu(): Promise<Check> {
  const model = cpus()[0]?.model.trim() ?? "unknown CPU";
  const threads = cpus().length;
  if (arch() === "arm64") return ok("cpu", `${model}, ${threads} threads, arm64 (NEON)`);
  if (arch() !== "x64") return ok("cpu", `${model}, ${threads} threads, ${arch()}`);
  let flags: Set<string>;
  try {
    const info = await readFile("/proc/cpuinfo", "utf8");
    const line = info.split("\n").find((l) => l.startsWith("flags"));
    flags = new Set((line?.split(":")[1] ?? "").trim().split(/\s+/));
  } catch {
    return ok("cpu", `${model}, ${threads} threads (features unknown: no /proc/cpuinfo)`);
  }
  const present = ["avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni"].filter((f) => flags.has(f));
  const message = `${model}, ${threads} threads, ${present.length > 0 ? present.join(" ") : "no AVX"}`;
  if (!flags.has("avx2")) {
    return warn(
      "cpu",
      message,
      "without AVX2 llama.cpp's CPU kernels run several times slower; prefer a GPU or a newer CPU",
    );
  }
  return ok("cpu", message);
}

async function checkGpu(): Promise<Check> {
  const probe = (async (): Promise<Check> => {
    const { getLlamaGpuTypes } = await import("node-llama-cpp");
    const supported = (await getLlamaGpuTypes("supported")).filter((t) => t !== false);
    if (supported.length === 0) {
      const valid = (await getLlamaGpuTypes("allValid")).filter((t) => t !== false);
      return ok(
        "gpu",
        `none found: CPU only${valid.length > 0 ? ` (this platform could use ${valid.join(", ")} with its drivers)` : ""}`,
      );
    }
    return ok("gpu", `backends with drivers present: ${supported.join(", ")}`);
  })().catch((error: unknown) =>
    warn(
      "gpu",
      `cannot ask node-llama-cpp: ${(error as Error).message}`,
      "reinstall node-llama-cpp (npm ci)",
    ),
  );
  return withTimeout(probe, CHECK_TIMEOUT_MS, () =>
    warn("gpu", `node-llama-cpp did not answer within ${CHECK_TIMEOUT_MS / 1000} s`, "run the check again"),
  );
}

async function checkPort(config: Readonly<Config>): Promise<Check> {
  const { host, port } = config.server;
  if (port === 0) return ok("port", "server.port is 0: the server picks a free port");
  const where = `${host}:${port}`;
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (error === undefined) return ok("port", `${where} is free`);
  const fix = "stop what uses it, or choose another port (server.port, AIXCL_PORT or --port)";
  if (error.code !== "EADDRINUSE")
    return fail("port", `cannot listen on ${where}: ${error.code ?? error.message}`, fix);
  const owner = await withTimeout(listenerOf(port), CHECK_TIMEOUT_MS, () => undefined);
  const record = await readServerRecord(serverRecordPath(config));
  if (owner !== undefined && record.state === "found" && record.record.pid === owner.pid) {
    return ok("port", `${where} is in use by this home's aixcl server (pid ${owner.pid})`);
  }
  const by = owner !== undefined ? ` by ${owner.name} (pid ${owner.pid})` : "";
  return fail("port", `${where} is taken${by}`, fix);
}

async function checkHome(home: string): Promise<Check> {
  let info;
  try {
    info = await stat(home);
  } catch (error) {
    if (isMissingPath(error))
      return ok("home", `${home} does not exist yet (created 0700 at the first start)`);
    return fail(
      "home",
      `cannot read ${home}: ${(error as Error).message}`,
      `check the permissions of ${home}`,
    );
  }
  if (!info.isDirectory())
    return fail("home", `${home} is not a directory`, `move it away or set AIXCL_HOME`);
  const uid = process.getuid?.();
  if (uid !== undefined && info.uid !== uid) {
    return fail(
      "home",
      `${home} is owned by uid ${info.uid}, not by you (uid ${uid})`,
      `chown -R ${uid} ${home}`,
    );
  }
  const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
  if ((info.mode & 0o077) !== 0) {
    return warn("home", `${home} is mode ${mode}: other users can reach it`, `chmod 700 ${home}`);
  }
  return ok("home", `${home} is mode ${mode}, owned by you`);
}

/** Whether a TCP (or Unix socket) connection opens within the timeout. */
function connects(target: { host: string; port: number } | { path: string }): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createConnection(target);
    const done = (why: string | undefined) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(CHECK_TIMEOUT_MS, () => done(`no answer within ${CHECK_TIMEOUT_MS / 1000} s`));
    socket.once("connect", () => done(undefined));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

async function checkDatabase(config: Readonly<Config>): Promise<Check> {
  if (config.profile === "core") return ok("database", "profile core: no database");
  if (config.database.url !== undefined) {
    let url: URL;
    try {
      url = new URL(config.database.url);
    } catch {
      return fail(
        "database",
        "database.url is not a URL",
        "set database.url to postgres://user@host:port/db",
      );
    }
    const host = url.searchParams.get("host") || url.hostname || "localhost";
    const port = Number(url.searchParams.get("port") || url.port || 5432);
    const shown = host.startsWith("/") ? `${host} (socket, port ${port})` : `${host}:${port}`;
    const why = await connects(host.startsWith("/") ? { path: `${host}/.s.PGSQL.${port}` } : { host, port });
    if (why !== undefined) {
      return fail(
        "database",
        `PostgreSQL at ${shown} is unreachable: ${why}`,
        "start PostgreSQL or fix database.url",
      );
    }
    return ok("database", `PostgreSQL at ${shown} accepts connections (credentials not checked)`);
  }
  const dir = databasePath(config);
  const lock = `${dir.replace(/\/+$/, "")}.lock`;
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (!exists) return ok("database", `PGlite in ${dir}: not created yet (created at the first start)`);
  const holder = Number((await readFile(lock, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(holder) || holder <= 0) return ok("database", `PGlite in ${dir}: not in use`);
  if (!processAlive(holder)) {
    return ok("database", `PGlite in ${dir}: stale lock of process ${holder} (taken over at the next open)`);
  }
  const record = await readServerRecord(serverRecordPath(config));
  if (record.state === "found" && record.record.pid === holder) {
    return ok(
      "database",
      `PGlite in ${dir}: open in this home's server (pid ${holder}); the CLI goes through it`,
    );
  }
  return warn(
    "database",
    `PGlite in ${dir}: in use by process ${holder}`,
    `commands that open the database wait for it: stop process ${holder} if it is not an aixcl command`,
  );
}

/**
 * config.yaml as the server would read it. A broken one is when doctor is most needed, so it is
 * a failing check of its own and the others go on with the defaults.
 */
function checkConfig(problem: string | undefined): Check {
  if (problem === undefined) return ok("config", "config.yaml (or its absence: the defaults) is valid");
  return fail(
    "config",
    problem,
    "fix config.yaml, or move it aside to start with the defaults (`aixcl config show` prints what is in effect)",
  );
}

async function runChecks(config: Readonly<Config>, configProblem?: string): Promise<Check[]> {
  return Promise.all([
    Promise.resolve(checkConfig(configProblem)),
    Promise.resolve(checkNode()),
    checkDisk("disk home", config.home, 1 * GIB),
    checkDisk("disk models", modelsPath(config), 10 * GIB),
    Promise.resolve(checkMemory()),
    checkCpu(),
    checkGpu(),
    checkPort(config),
    checkHome(config.home),
    checkDatabase(config),
  ]);
}

export function doctorCommand(run: RunCommand): Command {
  return new Command("doctor")
    .description(
      "check this machine and this home: Node, disk, memory, CPU, GPU, port, permissions, database",
    )
    .option("--json", "print the checks as JSON")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const { config, problem } = runFilesConfig();
        const checks = await runChecks(config, problem);
        const failed = checks.some((c) => c.status === "fail");
        if (options.json === true) {
          await printOut(JSON.stringify({ ok: !failed, checks }, null, 2));
        } else {
          const width = Math.max(...checks.map((c) => c.name.length));
          const lines = checks.flatMap((c) => [
            `${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.message}`,
            ...(c.fix !== undefined ? [`${" ".repeat(width + 8)}fix: ${c.fix}`] : []),
          ]);
          await printOut(lines.join("\n"));
        }
        return failed ? 1 : 0;
      }),
    );
}
