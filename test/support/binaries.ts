/**
 * System binaries the tests run (promtool, systemd-analyze): found on PATH, run to completion.
 * .ci/run installs their Debian packages, so a missing one fails the test, never skips it.
 */
import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** A binary on PATH; a missing one throws, naming the Debian package that provides it. */
export function onPath(name: string, debianPackage: string): string {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    `${name} not found on PATH: install Debian's ${debianPackage} package (see APT_PACKAGES in .ci/run)`,
  );
}

export interface BinaryRun {
  code: number | null;
  /** stdout and stderr together, in the order they arrived. */
  output: string;
}

/** Runs a binary to completion with `input` on its stdin. */
export function runBinary(
  binary: string,
  args: string[],
  options: { input?: string; cwd?: string } = {},
): Promise<BinaryRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["pipe", "pipe", "pipe"], cwd: options.cwd });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
    child.stdin.end(options.input ?? "");
  });
}
