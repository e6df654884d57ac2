/**
 * The drain period `aixcl stack stop` hands the server it stops (both commands use it).
 */
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeRunFile } from "../auth/local-token.js";
import type { Config } from "../config/schema.js";

/**
 * `run/drain`: how long `stack stop --timeout` lets in-flight requests run, for the server to read
 * when the SIGTERM that follows arrives (a signal carries no value). Without it (Ctrl-C on
 * `aixcl serve`) the server drains for its default.
 */
const drainPath = (config: Readonly<Config>): string => join(config.home, "run", "drain");

export function writeDrainHint(config: Readonly<Config>, seconds: number): Promise<void> {
  return writeRunFile(drainPath(config), `${seconds}\n`);
}

/** Reads and removes run/drain: seconds, or undefined when absent or not a number. */
export async function takeDrainHint(config: Readonly<Config>): Promise<number | undefined> {
  const text = await readFile(drainPath(config), "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  await rm(drainPath(config), { force: true });
  const seconds = Number(text.trim());
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}
