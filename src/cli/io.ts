/**
 * The streams and environment a command runs with. A process running `aixcl` has one set (its
 * own stdio and environment); code that runs commands in-process (src/cli/program.ts's
 * runAixcl, e.g. from the tests) gives each run its own, carried through every await by
 * AsyncLocalStorage. Commands reach stdio and the environment only through cliIo(), which the
 * linter enforces (no `process.stdin`, `process.stdout`, `process.stderr` or `process.env` in
 * src/cli except here).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { loadConfig, type LoadConfigOptions } from "../config/load.js";
import { AppError } from "../errors.js";
import type { Config } from "../config/schema.js";

/** A readable stream that may be a terminal (process.stdin is; a pipe or a PassThrough is not). */
type CliInput = NodeJS.ReadableStream & {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
};

/** A writable stream that may be a terminal. */
export type CliOutput = NodeJS.WritableStream & { isTTY?: boolean };

export interface CliIo {
  stdin: CliInput;
  stdout: CliOutput;
  stderr: CliOutput;
  /** Where `AIXCL_*`, `HOME` and `PATH` are read from. */
  env: NodeJS.ProcessEnv;
}

const current = new AsyncLocalStorage<CliIo>();

/** This run's streams and environment: the process's own unless runAixcl was given others. */
export function cliIo(): CliIo {
  return (
    current.getStore() ?? {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
    }
  );
}

/** Runs `body` (a whole command) with `io` as its streams and environment. */
export function withCliIo<T>(io: CliIo, body: () => Promise<T>): Promise<T> {
  return current.run(io, body);
}

/** The configuration as this run sees it: its environment, then config.yaml and `flags`. */
export function cliConfig(options: Omit<LoadConfigOptions, "env"> = {}): Readonly<Config> {
  return loadConfig({ ...options, env: cliIo().env });
}

/**
 * The configuration of a command that only needs the home's run/ and logs/ (`stack stop`,
 * `status`, `logs`; `utils doctor` reports the problem as a check). An edit that broke
 * config.yaml while the server runs must not lock its owner out of stopping it: then the home
 * comes from the environment, every other setting from the defaults, and `problem` says why.
 */
export function runFilesConfig(): { config: Readonly<Config>; problem?: string } {
  try {
    return { config: cliConfig() };
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== "config_invalid") throw error;
    return { config: cliConfig({ readFile: false }), problem: error.message };
  }
}
