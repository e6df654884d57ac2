/**
 * What `aixcl stack` keeps in `$AIXCL_HOME/run/` beside the server's own files (server.json,
 * admin.token): `stack.json`, the detached server it started (pid, the process's start time, the
 * profile), and `stack.lock`, held by one `stack start|stop|restart` at a time (created O_EXCL
 * with the holder's pid and start time; a lock whose holder is gone is taken over).
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { writeRunFile } from "../../../auth/local-token.js";
import { readServerRecord } from "../../../auth/server-record.js";
import { processAlive, processStartTime } from "../../../lib/processes.js";
import { localTokenPath, serverRecordPath } from "../../../config/load.js";
import type { Config } from "../../../config/schema.js";
import { AppError } from "../../../errors.js";

const stackRecordSchema = z.object({
  pid: z.number().int().positive(),
  /** Field 22 of /proc/<pid>/stat (Linux): tells this process from a later one given the same pid. */
  start_time: z.string().nullable(),
  profile: z.enum(["core", "bld", "sys"]),
  /** The `--port` given to `stack start`, if any (restart passes it again). */
  port: z.string().optional(),
  started_at: z.string(),
});

export type StackRecord = z.infer<typeof stackRecordSchema>;

const stackRecordPath = (config: Readonly<Config>): string => join(config.home, "run", "stack.json");
const lockPath = (config: Readonly<Config>): string => join(config.home, "run", "stack.lock");
/** The detached server's stdout and stderr: what it prints before its logger exists (and its last words). */
export const serveOutputPath = (config: Readonly<Config>): string => join(config.home, "logs", "serve.out");

export async function readStackRecord(config: Readonly<Config>): Promise<StackRecord | undefined> {
  try {
    const parsed = stackRecordSchema.safeParse(JSON.parse(await readFile(stackRecordPath(config), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function writeStackRecord(config: Readonly<Config>, record: StackRecord): Promise<void> {
  return writeRunFile(stackRecordPath(config), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Whether the recorded process is still the server `stack start` spawned: alive, and the same
 * process (its start time matches; without /proc, the server record names its pid). A pid reused
 * by another program after a crash is never taken for it, so it is never signalled.
 */
export async function isRecordedServer(config: Readonly<Config>, record: StackRecord): Promise<boolean> {
  if (!processAlive(record.pid)) return false;
  const startTime = processStartTime(record.pid);
  if (record.start_time !== null && startTime !== null) return startTime === record.start_time;
  const server = await readServerRecord(serverRecordPath(config));
  return server.state === "found" && server.record.pid === record.pid;
}

/**
 * Removes what a server that is gone left in run/ (a kill -9, a crash): stack.json, and
 * server.json and admin.token when no live process owns them. Returns what was removed.
 */
export async function removeStaleRunFiles(config: Readonly<Config>): Promise<string[]> {
  const removed: string[] = [];
  const record = await readStackRecord(config);
  if (record !== undefined && !(await isRecordedServer(config, record))) {
    await rm(stackRecordPath(config), { force: true });
    removed.push(`run/stack.json (pid ${record.pid})`);
  }
  const server = await readServerRecord(serverRecordPath(config));
  if (server.state === "found" && !processAlive(server.record.pid)) {
    await rm(serverRecordPath(config), { force: true });
    await rm(localTokenPath(config), { force: true });
    removed.push(`run/server.json (pid ${server.record.pid})`);
  }
  return removed;
}

/** Removes stack.json, server.json and admin.token after the recorded server exited. */
export async function removeRunFiles(config: Readonly<Config>, pid: number): Promise<void> {
  await rm(stackRecordPath(config), { force: true });
  const server = await readServerRecord(serverRecordPath(config));
  if (server.state !== "found" || server.record.pid === pid || !processAlive(server.record.pid)) {
    await rm(serverRecordPath(config), { force: true });
    await rm(localTokenPath(config), { force: true });
  }
}

/**
 * The holder a stack.lock names: "<pid> <start time>" (the start time as in stack.json; absent
 * where /proc is not, and in locks written before it was recorded).
 */
function lockHolder(text: string): { pid: number; startTime: string | undefined } | undefined {
  const match = /^(\d+)(?: (\S+))?$/.exec(text.trim());
  return match ? { pid: Number(match[1]), startTime: match[2] } : undefined;
}

/**
 * Whether the lock's holder still runs: alive, and the same process. A pid reused after a crash
 * or a reboot (pid 1 is always alive) must not hold the home's lock forever.
 */
function holderRuns(holder: { pid: number; startTime: string | undefined }): boolean {
  if (!processAlive(holder.pid)) return false;
  const startTime = processStartTime(holder.pid);
  return holder.startTime === undefined || startTime === null || startTime === holder.startTime;
}

/**
 * Takes run/stack.lock, waiting up to `waitMs` while another live `aixcl stack` command holds
 * it; a lock left by a process that is gone is removed and taken. Returns its release.
 */
export async function acquireStackLock(
  config: Readonly<Config>,
  waitMs: number,
): Promise<{ release: () => Promise<void>; recovered?: number }> {
  const path = lockPath(config);
  await mkdir(join(config.home, "run"), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  const ownStart = processStartTime(process.pid);
  const own = ownStart === null ? String(process.pid) : `${process.pid} ${ownStart}`;
  let recovered: number | undefined;
  let unreadable = 0;
  for (;;) {
    try {
      await writeFile(path, `${own}\n`, { flag: "wx", mode: 0o600 });
      const release = async () => {
        const holder = (await readFile(path, "utf8").catch(() => "")).trim();
        if (holder === own) await rm(path, { force: true });
      };
      return recovered === undefined ? { release } : { release, recovered };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = lockHolder(await readFile(path, "utf8").catch(() => ""));
    // Empty: its writer is between creating it and writing its pid. Give it a moment, not forever.
    if (holder === undefined) unreadable += 1;
    if ((holder !== undefined && !holderRuns(holder)) || unreadable > 20) {
      await rm(path, { force: true });
      recovered = holder?.pid;
      unreadable = 0;
      continue;
    }
    if (Date.now() >= deadline) {
      throw new AppError(
        "conflict",
        `another \`aixcl stack\` command (pid ${holder?.pid ?? "unknown"}) is starting or stopping this home; remove ${path} if it is not running`,
      );
    }
    await sleep(100);
  }
}
