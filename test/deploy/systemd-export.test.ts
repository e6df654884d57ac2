/**
 * `aixcl stack export systemd`: the unit passes `systemd-analyze verify` (Debian's systemd
 * package, installed by .ci/run), carries the hardening directives the deployment docs promise,
 * and rates "OK" in `systemd-analyze security --offline` (exposure below 2.0 of 10). The export
 * refuses a non-empty directory unless --force.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv, ROOT, runCli } from "../cli/run-cli.js";
import { onPath, runBinary } from "../support/binaries.js";

const systemdAnalyze = onPath("systemd-analyze", "systemd");

let work: string;
let dir: string;
let env: NodeJS.ProcessEnv;
let unitPath: string;
let unit: string;

/** Each `Key=` of the unit with its values, in order (a key may repeat). */
function directives(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (!match) continue;
    const [, key, value] = match as unknown as [string, string, string];
    map.set(key, [...(map.get(key) ?? []), value]);
  }
  return map;
}

/** `systemd-analyze verify` of a unit file: exit code and what it said. */
async function verify(path: string): Promise<{ code: number | null; output: string }> {
  return runBinary(systemdAnalyze, ["verify", "--man=no", path]);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "aixcl-systemd-"));
  env = cliEnv(join(work, "home"), { AIXCL_PORT: "11600", AIXCL_PROFILE: "bld" });
  dir = join(work, "export");
  // ExecStart runs this node (it exists: verify checks the binary), whatever it is on this machine.
  const result = await runCli(["stack", "export", "systemd", dir, "--node", process.execPath], env);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  unitPath = join(dir, "aixcl.service");
  unit = await readFile(unitPath, "utf8");
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("aixcl stack export systemd", () => {
  it("writes one 0644 unit that passes systemd-analyze verify", async () => {
    expect(await readdir(dir)).toEqual(["aixcl.service"]);
    expect((await stat(unitPath)).mode & 0o777).toBe(0o644);
    const checked = await verify(unitPath);
    expect(checked).toEqual({ code: 0, output: "" });
    // verify is not a pass-everything: a bad value and a missing binary are reported.
    const broken = join(work, "broken", "aixcl.service");
    await mkdir(join(work, "broken"));
    await writeFile(broken, unit.replace("ProtectSystem=strict", "ProtectSystem=bogus"));
    expect((await verify(broken)).output).toContain("Failed to parse protect system value");
    await writeFile(broken, unit.replace(`ExecStart=${process.execPath}`, "ExecStart=/nonexistent/node"));
    const missing = await verify(broken);
    expect(missing.code).not.toBe(0);
    expect(missing.output).toContain("/nonexistent/node");
  });

  it("runs `aixcl serve` as a dynamic user with its home in a state directory, restarted on failure", () => {
    const d = directives(unit);
    const main = join(ROOT, "dist", "cli", "main.js");
    expect(d.get("ExecStart")).toEqual([`${process.execPath} ${main} serve`]);
    expect(d.get("DynamicUser")).toEqual(["yes"]);
    expect(d.get("StateDirectory")).toEqual(["aixcl"]);
    expect(d.get("Environment")).toEqual(
      expect.arrayContaining([
        "AIXCL_HOME=%S/aixcl",
        "AIXCL_PROFILE=bld",
        "AIXCL_PORT=11600",
        "AIXCL_HOST=127.0.0.1",
      ]),
    );
    expect(d.get("Restart")).toEqual(["on-failure"]);
    expect(d.get("WantedBy")).toEqual(["multi-user.target"]);
  });

  it("is hardened: no privileges, read-only system, no capabilities, filtered system calls", async () => {
    const d = directives(unit);
    for (const [key, value] of Object.entries({
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      CapabilityBoundingSet: "",
      RestrictAddressFamilies: "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    })) {
      expect([key, d.get(key)]).toEqual([key, [value]]);
    }
    expect(d.get("SystemCallFilter")).toContain("@system-service");
    // V8 needs writable and executable memory for its JIT.
    expect(d.has("MemoryDenyWriteExecute")).toBe(false);
    const security = await runBinary(systemdAnalyze, ["security", "--offline=yes", "--no-pager", unitPath]);
    expect(security.code, security.output).toBe(0);
    const exposure = /Overall exposure level for aixcl\.service: (\d+\.\d+) (\w+)/.exec(security.output);
    expect(exposure, security.output).not.toBeNull();
    expect(Number(exposure![1])).toBeLessThan(2);
    expect(exposure![2]).toBe("OK");
  });

  it("refuses a non-empty directory unless --force", async () => {
    const target = join(work, "taken");
    await mkdir(target);
    await writeFile(join(target, "aixcl.service"), "[Unit]\nDescription=mine\n");
    const refused = await runCli(["stack", "export", "systemd", target], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not empty.*--force/);
    expect(await readFile(join(target, "aixcl.service"), "utf8")).toBe("[Unit]\nDescription=mine\n");
    const forced = await runCli(["stack", "export", "systemd", target, "--force"], env);
    expect(forced, forced.stderr).toMatchObject({ code: 0 });
    expect(await readFile(join(target, "aixcl.service"), "utf8")).toContain("DynamicUser=yes");
  });
});
