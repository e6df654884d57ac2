/**
 * `aixcl … | head -1`: the reader of the CLI's output goes away before the command is done. Node
 * ignores SIGPIPE, so each later write fails with EPIPE; the command must finish as if nothing
 * happened (no stack trace, its status unchanged), not die half-way (mid-restart, lock held).
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LOG_FILE } from "../../src/logger.js";
import { cliArgs, cliEnv, ROOT } from "./run-cli.js";

const homes: string[] = [];

afterAll(async () => {
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

describe("output into a pipe that closes", () => {
  it("finishes with its own status and no EPIPE when the reader leaves after the first bytes", async () => {
    const home = await mkdtemp(join(tmpdir(), "aixcl-pipe-"));
    homes.push(home);
    // A log of 2,000 lines, each printed by a write of its own: the first ends the reader.
    await mkdir(join(home, "logs"), { recursive: true });
    const line = (i: number) => JSON.stringify({ level: 30, time: Date.now(), msg: `line ${i}` });
    await writeFile(
      join(home, "logs", LOG_FILE),
      Array.from({ length: 2000 }, (_, i) => `${line(i)}\n`).join(""),
    );
    const child = spawn(process.execPath, [...cliArgs(), "stack", "logs", "-n", "2000", "--json"], {
      cwd: ROOT,
      env: cliEnv(home),
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout.once("data", () => child.stdout.destroy());
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
