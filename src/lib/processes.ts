/**
 * Whether a process (or a process group) is still running. `kill(pid, 0)` alone also answers yes
 * for a zombie: a process that has exited but whose parent has not reaped it yet. An orphan (a
 * server started detached, a runner whose server was killed) is reaped by PID 1, which may take
 * a while (~1.5 s on the VMs this project's CI runs on) or never happen (a container whose PID 1 is not an
 * init). A zombie holds no port, lock or memory, so here it counts as gone; on Linux its state
 * is read from /proc, elsewhere `kill` decides alone.
 */
import { readdirSync, readFileSync } from "node:fs";

/**
 * The fields of /proc/<pid>/stat after the command name (field 3, the state, first), or undefined
 * where it cannot be read (gone, or not Linux).
 */
function procStatFields(pid: number | string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ")".
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

function procStat(pid: number | string): { state: string; group: number } | undefined {
  const fields = procStatFields(pid);
  return fields && { state: fields[0] ?? "", group: Number(fields[2]) };
}

/**
 * When the kernel started `pid` (field 22, clock ticks since boot), or null where /proc is not
 * there: tells a process from a later one given the same pid.
 */
export function processStartTime(pid: number): string | null {
  return procStatFields(pid)?.[19] ?? null;
}

/** kill(target, 0): true when it exists (EPERM: it does, owned by someone else). */
function signalable(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Whether process `pid` is running (a zombie is not). */
export function processAlive(pid: number): boolean {
  if (!signalable(pid)) return false;
  return procStat(pid)?.state !== "Z";
}

/** Whether the process group `pgid` has a running member (zombies are not). */
export function processGroupAlive(pgid: number): boolean {
  if (!signalable(-pgid)) return false;
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return true;
  }
  let seen = false;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat?.group !== pgid) continue;
    if (stat.state !== "Z") return true;
    seen = true;
  }
  // No member found at all: /proc shows another namespace's pids, so `kill` decides.
  return !seen;
}
