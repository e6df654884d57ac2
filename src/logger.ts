import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { pino, type Logger } from "pino";
import type { LogTail } from "./lib/log-tail.js";

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

export interface LoggerOptions {
  level: string;
  /** Directory for `aixcl.log` (JSON lines). When absent, logs go to stderr only. */
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
  const targets: { target: string; level: string; options: Record<string, unknown> }[] = [];
  if (options.dir) {
    mkdirSync(options.dir, { recursive: true, mode: 0o700 });
    targets.push({
      target: "pino/file",
      level: options.level,
      options: { destination: join(options.dir, "aixcl.log"), mkdir: true },
    });
  }
  if (options.stderr !== false) {
    targets.push(
      options.pretty
        ? { target: "pino-pretty", level: options.level, options: { destination: 2 } }
        : { target: "pino/file", level: options.level, options: { destination: 2 } },
    );
  }
  const { tail } = options;
  // The tail gets each line as serialized, after redaction, in this thread: the transport's
  // targets run in a worker, out of reach of the server's memory.
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
    targets.length > 0 ? pino.transport({ targets }) : { write: () => undefined },
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
