/**
 * processAlive and processGroupAlive (src/lib/processes.ts) count a zombie as gone: an exited
 * process whose parent has not reaped it still answers kill(pid, 0), and waiting on that held
 * `aixcl stack stop` (and each wait on an orphaned runner) until PID 1 got round to reaping it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { afterEach, expect, it } from "vitest";
import { processAlive, processGroupAlive, processStartTime } from "../../src/lib/processes.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** Runs `script` in sh, which prints a pid and then becomes `sleep 30` (never reaping its own children). */
async function shell(script: string): Promise<{ parent: number; printed: number }> {
  const child = spawn("sh", ["-c", `${script}; exec sleep 30`], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const line = await new Promise<string>((resolve) =>
    child.stdout?.once("data", (data: Buffer) => resolve(String(data))),
  );
  return { parent: child.pid ?? 0, printed: Number(line.trim()) };
}

/**
 * A shell command that returns once its parent shell has become `sleep 30`: a child that exited
 * earlier could be reaped by the shell itself before its `exec` (seen once in CI).
 */
const UNTIL_PARENT_SLEEPS = `while [ "$(cat /proc/$PPID/comm)" != sleep ]; do sleep 0.01; done`;

const state = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[0];

const signalable = (target: number) => {
  try {
    process.kill(target, 0);
    return true;
  } catch {
    return false;
  }
};

it("a zombie is not alive, though kill(pid, 0) still finds it; its parent is", async () => {
  const { parent, printed: zombie } = await shell(`sh -c '${UNTIL_PARENT_SLEEPS}' & echo $!`);
  await expect.poll(() => state(zombie)).toBe("Z");
  expect(signalable(zombie)).toBe(true);
  expect(processAlive(zombie)).toBe(false);
  expect(processAlive(parent)).toBe(true);
  expect(processStartTime(parent)).toMatch(/^\d+$/);
});

it("a process group whose only member is a zombie is not alive; one with a running member is", async () => {
  // The child leaves the shell's group for one of its own (setsid), prints its pid (= the group's
  // id) and exits, unreaped.
  const { parent, printed: group } = await shell(`setsid sh -c 'echo $$; ${UNTIL_PARENT_SLEEPS}' & true`);
  await expect.poll(() => state(group)).toBe("Z");
  expect(signalable(-group)).toBe(true);
  expect(processGroupAlive(group)).toBe(false);
  // The test's own group has running members (this process among them).
  expect(
    processGroupAlive(Number(readFileSync(`/proc/${parent}/stat`, "utf8").split(") ")[1]?.split(" ")[2])),
  ).toBe(true);
});

it("a pid that no process has is neither alive nor a live group", async () => {
  const child = spawn("true");
  const pid = child.pid ?? 0;
  await new Promise((resolve) => child.once("exit", resolve));
  await expect.poll(() => signalable(pid)).toBe(false);
  expect(processAlive(pid)).toBe(false);
  expect(processGroupAlive(pid)).toBe(false);
  expect(processStartTime(pid)).toBeNull();
});
