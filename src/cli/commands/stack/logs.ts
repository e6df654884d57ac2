/**
 * `aixcl stack logs [-n N] [-f] [--level L] [--json]`: the server's JSON log
 * (`$AIXCL_HOME/logs/aixcl.log` and the files it rotated to, oldest first), the last N lines at
 * level L or above, pretty (pino-pretty; in colour on a terminal) or as the JSON lines with
 * --json. -f then prints what is written next, across rotations, until interrupted.
 */
import { open, readFile, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LOG_LEVELS } from "../../../api/admin-wire.js";
import type { Config } from "../../../config/schema.js";
import { rotatedPath } from "../../../lib/rotating-file.js";
import { LOG_FILE, LOG_FILES } from "../../../logger.js";
import type { ExitCode } from "../../command.js";
import { cliIo } from "../../io.js";
import { outputClosed, printOut } from "../../output.js";

export type LevelName = keyof typeof LOG_LEVELS;

export interface LogsOptions {
  lines: number;
  follow: boolean;
  level: LevelName;
  json: boolean;
}

/** pino writes `{"level":30,…` first; a line that is not JSON counts as info. */
function levelOf(line: string): number {
  const match = /^\{"level":(\d+)/.exec(line);
  return match ? Number(match[1]) : LOG_LEVELS.info;
}

/** The lines of `path` and its size in bytes (what was read: -f goes on from there). */
async function readLines(path: string): Promise<{ lines: string[]; bytes: number }> {
  const bytes = await readFile(path).catch(() => Buffer.alloc(0));
  return {
    lines: bytes
      .toString("utf8")
      .split("\n")
      .filter((line) => line !== ""),
    bytes: bytes.length,
  };
}

async function formatter(json: boolean): Promise<(line: string) => string> {
  if (json) return (line) => line;
  const { prettyFactory } = await import("pino-pretty");
  const pretty = prettyFactory({ colorize: cliIo().stdout.isTTY === true, translateTime: "SYS:standard" });
  return (line) => {
    try {
      return pretty(JSON.parse(line) as object).replace(/\n$/, "");
    } catch {
      return line;
    }
  };
}

/** Resolves on the first SIGINT or SIGTERM (a followed log ends with Ctrl-C). */
function interrupted(): { promise: Promise<void>; dispose: () => void } {
  let done: () => void = () => {};
  const promise = new Promise<void>((resolve) => (done = resolve));
  const handler = () => done();
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
  return {
    promise,
    dispose: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}

/**
 * Prints what is appended to `path` from `offset` on. The open file is read to its end before a
 * rotation is followed (path then names a new file: read from its start), so the lines written
 * just before a rotation are not lost.
 */
async function follow(path: string, offset: number, emit: (line: string) => Promise<void>): Promise<void> {
  const stop = interrupted();
  let stopped = false;
  void stop.promise.then(() => (stopped = true));
  let handle: FileHandle | undefined;
  let position = offset;
  let partial = "";
  const drain = async (file: FileHandle): Promise<void> => {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      const lines = (partial + buffer.subarray(0, bytesRead).toString("utf8")).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) if (line !== "") await emit(line);
    }
  };
  try {
    while (!stopped && !outputClosed()) {
      handle ??= await open(path, "r").catch(() => undefined);
      if (handle !== undefined) {
        if ((await handle.stat()).size < position) position = 0; // truncated in place
        await drain(handle);
        const current = await stat(path).catch(() => undefined);
        if (current !== undefined && current.ino !== (await handle.stat()).ino) {
          // Rotated: the old file is read to its end; the new one starts at 0.
          await handle.close();
          handle = undefined;
          position = 0;
          partial = "";
          continue;
        }
      }
      await Promise.race([sleep(200), stop.promise]);
    }
  } finally {
    stop.dispose();
    await handle?.close();
  }
}

export async function stackLogs(config: Readonly<Config>, options: LogsOptions): Promise<ExitCode> {
  const path = join(config.home, "logs", LOG_FILE);
  const minimum = LOG_LEVELS[options.level];
  const format = await formatter(options.json);
  const emit = async (line: string) => {
    if (levelOf(line) >= minimum) await printOut(format(line));
  };

  // The last N matching lines, reading older files only while the newer ones hold too few.
  const current = await readLines(path);
  let shown = current.lines.filter((line) => levelOf(line) >= minimum);
  for (let index = 1; index < LOG_FILES && shown.length < options.lines; index++) {
    const older = (await readLines(rotatedPath(path, index))).lines;
    shown = [...older.filter((line) => levelOf(line) >= minimum), ...shown];
  }
  shown = options.lines === 0 ? [] : shown.slice(-options.lines);
  for (const line of shown) await printOut(format(line));
  if (options.follow) await follow(path, current.bytes, emit);
  return 0;
}
