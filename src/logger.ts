import { join } from "node:path";
import { pino, type DestinationStream, type Logger } from "pino";
import type { LogTail } from "./lib/log-tail.js";
import { createRotatingFile } from "./lib/rotating-file.js";

export type { Logger } from "pino";

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACT = [
  "api_key",
  "apiKey",
  "password",
  "token",
  "secret",
  "authorization",
  "*.api_key",
  "*.apiKey",
  "*.password",
  "*.token",
  "*.secret",
  "*.authorization",
  'req.headers["x-api-key"]',
  "headers.authorization",
  'headers["x-api-key"]',
];

/** The log file in a logger's `dir`: JSON lines, what `aixcl stack logs` reads. */
export const LOG_FILE = "aixcl.log";
/** Bounds of the log on disk: aixcl.log and two older files (aixcl.log.1, .2) of 10 MiB each. */
const LOG_FILE_MAX_BYTES = 10 * 1024 * 1024;
export const LOG_FILES = 3;
/** Log lines stderr may hold back while its reader is slow (a pipe nobody drains). */
const STDERR_BACKLOG_BYTES = 8 * 1024 * 1024;

export interface LoggerOptions {
  level: string;
  /**
   * Directory for `aixcl.log` (JSON lines, rotated by size: LOG_FILE_MAX_BYTES × LOG_FILES at
   * most). When absent, logs go to stderr only.
   */
  dir?: string;
  /** Pretty-print to stderr (a TTY). Default false. */
  pretty?: boolean;
  /** Also write to stderr. Default true (tests turn it off to read lines only from `tail`). */
  stderr?: boolean;
  /** Also keeps the last lines in memory (the admin console's log page). */
  tail?: LogTail;
}

/** Creates the process logger. Secrets are redacted here, not by callers. */
export function createLogger(options: LoggerOptions): Logger {
  const file = options.dir
    ? createRotatingFile({
        path: join(options.dir, LOG_FILE),
        maxBytes: LOG_FILE_MAX_BYTES,
        files: LOG_FILES,
      })
    : undefined;
  // The file in this thread, where each line is written synchronously and rotation needs no
  // coordination. stderr: pino-pretty (a TTY) runs in a transport's worker thread; JSON lines go
  // through an in-thread SonicBoom, whose writes to a busy pipe wait on the thread pool, not here
  // (lines beyond STDERR_BACKLOG_BYTES of backlog are dropped: the file has them all). A worker
  // for those too cost every start ~0.25 s of CPU (a thread's Node start) for nothing.
  const stderr =
    options.stderr === false
      ? undefined
      : options.pretty
        ? pino.transport({ target: "pino-pretty", options: { destination: 2 } })
        : pino.destination({ dest: 2, sync: false, maxLength: STDERR_BACKLOG_BYTES });
  const destination = {
    write(line: string) {
      file?.write(line);
      stderr?.write(line);
    },
    flush(done: (error?: Error) => void) {
      if (stderr) stderr.flush(done);
      else done();
    },
  };
  const { tail } = options;
  // The tail gets each line as serialized, after redaction.
  const hooks = tail
    ? {
        streamWrite(line: string) {
          tail.write(line);
          return line;
        },
      }
    : {};
  return pino(
    { level: options.level, redact: { paths: REDACT, censor: "<redacted>" }, hooks },
    destination as DestinationStream,
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
