/**
 * `npm run bench:start`: how long `aixcl stack start` takes to answer healthy, on a fresh home
 * (nothing there: the first start creates the vault, the database and the first admin) and on an
 * existing one (after a `stack stop`), and the idle memory of the whole stack (the server and
 * every process it started, no model loaded), per profile. It runs the built CLI (`npm run
 * build`) as a user would; medians of AIXCL_BENCH_ROUNDS (default 5) rounds.
 * Targets: existing home <= 1 s, fresh home <= 3 s, idle RSS in sys <= 300 MB.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ROOT } from "../test/support/build.js";
import { median, table } from "./report.js";

const run = promisify(execFile);
const ROUNDS = Number(process.env.AIXCL_BENCH_ROUNDS ?? 5);
const CLI = join(ROOT, "dist", "cli", "main.js");

async function aixcl(home: string, args: string[]): Promise<number> {
  const started = performance.now();
  await run(process.execPath, [CLI, ...args], {
    env: { ...process.env, AIXCL_HOME: home, AIXCL_PORT: "0" },
    timeout: 120_000,
  });
  return performance.now() - started;
}

/** RSS of `pid` and all its descendants, MB (from /proc). */
async function treeRssMb(pid: number): Promise<number> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (ppid) parents.set(Number(entry), ppid);
  }
  const inTree = (p: number): boolean => p === pid || (parents.has(p) && inTree(parents.get(p) ?? 0));
  let kb = 0;
  for (const p of parents.keys()) {
    if (!inTree(p)) continue;
    const status = await readFile(`/proc/${p}/status`, "utf8").catch(() => "");
    kb += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return kb / 1024;
}

async function serverPid(home: string): Promise<number> {
  const record = JSON.parse(await readFile(join(home, "run", "stack.json"), "utf8")) as { pid: number };
  return record.pid;
}

/** Lets the server settle (the spare runner's start, the first samples) before reading memory. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 3000));

async function measure(profile: "core" | "sys") {
  const fresh: number[] = [];
  const existing: number[] = [];
  const rssFresh: number[] = [];
  const rssRestarted: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const home = await mkdtemp(join(tmpdir(), "aixcl-bench-start-"));
    try {
      fresh.push(await aixcl(home, ["stack", "start", "--profile", profile]));
      await settle();
      rssFresh.push(await treeRssMb(await serverPid(home)));
      await aixcl(home, ["stack", "stop"]);
      existing.push(await aixcl(home, ["stack", "start", "--profile", profile]));
      await settle();
      rssRestarted.push(await treeRssMb(await serverPid(home)));
      await aixcl(home, ["stack", "stop"]);
    } finally {
      await aixcl(home, ["stack", "stop"]).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    }
  }
  return { fresh, existing, rssFresh, rssRestarted };
}

const lines: string[] = [];
for (const profile of ["core", "sys"] as const) {
  const m = await measure(profile);
  lines.push(
    table(`profile ${profile}`, [
      { label: "stack start -> healthy, fresh home, ms", values: m.fresh },
      { label: "stack start -> healthy, existing home, ms", values: m.existing },
      { label: "idle RSS after a fresh start, MB", values: m.rssFresh },
      { label: "idle RSS after a restart, MB", values: m.rssRestarted },
    ]),
    `medians: fresh ${median(m.fresh).toFixed(0)} ms (target <= 3000), existing ${median(m.existing).toFixed(0)} ms (target <= 1000), RSS ${median(m.rssFresh).toFixed(0)} / ${median(m.rssRestarted).toFixed(0)} MB${profile === "sys" ? " (target <= 300)" : ""}`,
    "",
  );
}
console.log(lines.join("\n"));
