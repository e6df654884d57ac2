/**
 * `aixcl utils prune [--all] [--dry-run]`: removes aixcl's own leftovers inside `$AIXCL_HOME`:
 * run files of a server that is gone (run/server.json, run/admin.token, the PGlite lock of a dead
 * process), partial downloads (`blobs/sha256-…-partial` and their `.json`), blobs no manifest
 * references, and writers' temp files (`.<name>.<random>.tmp`). `--all` also removes the
 * models, the database, the vault, the logs and run/, once the user has typed the home path.
 *
 * Safety: it refuses while this home's server runs; it never follows a symbolic link nor removes
 * one, and a configured path (models, database, vault) whose real path is outside the home is
 * left alone; files changed in the last RECENT_MS are kept, since a command running without a
 * server (an `aixcl models add`) may be writing them.
 */
import { lstat, readdir, readFile, realpath, rm } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { Command } from "commander";
import { readServerRecord } from "../../../auth/server-record.js";
import { processAlive } from "../../../lib/processes.js";
import { databasePath, modelsPath, serverRecordPath, vaultPath } from "../../../config/load.js";
import type { Config } from "../../../config/schema.js";
import { dirEntries, isMissingPath, isTempName } from "../../../lib/files.js";
import { LOG_FILE } from "../../../logger.js";
import { findLocalServer } from "../../admin-session.js";
import type { RunCommand } from "../../command.js";
import { cliConfig, cliIo } from "../../io.js";
import { printErr, printOut } from "../../output.js";
import { formatBytes } from "../../progress.js";

/** Files changed more recently than this may belong to a command at work: kept. */
const RECENT_MS = 15 * 60 * 1000;

const BLOB = /^sha256-[0-9a-f]{64}$/;
const PARTIAL = /^sha256-[0-9a-f]{64}-partial(\.json)?$/;

interface Item {
  path: string;
  bytes: number;
  why: string;
}

interface Plan {
  items: Item[];
  notes: Set<string>;
  /** Recent files left alone. */
  kept: number;
}

/** The real path of `path`, or undefined when it does not exist. */
async function real(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch (error) {
    if (isMissingPath(error)) return undefined;
    throw error;
  }
}

const within = (root: string, path: string): boolean => path === root || path.startsWith(root + sep);

/** Bytes under `path` (lstat: links count as themselves, never followed). */
async function sizeOf(path: string): Promise<number> {
  const info = await lstat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

/** Regular files in `dir` (not links, not directories) with their lstat. */
async function filesIn(dir: string) {
  const out = [];
  for (const entry of await dirEntries(dir)) {
    if (!entry.isFile()) continue;
    const path = join(dir, entry.name);
    out.push({ name: entry.name, path, info: await lstat(path) });
  }
  return out;
}

/** The pid a lock or pid file names, if it is a positive integer. */
function pidIn(text: string): number | undefined {
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * The digests every manifest of the store names, or the first manifest that cannot be read (a
 * store's own temp files aside): then the blobs it references are unknown, and none is unreferenced.
 */
async function usedDigests(models: string): Promise<{ digests: Set<string>; unreadable?: string }> {
  const { walkManifests } = await import("../../../models/tree.js");
  const { manifestDigests, readManifestFile } = await import("../../../models/manifest.js");
  const digests = new Set<string>();
  for (const entry of await walkManifests(models)) {
    if (isTempName(entry.parts[3])) continue;
    try {
      for (const digest of manifestDigests((await readManifestFile(entry.path)).manifest))
        digests.add(digest);
    } catch {
      return { digests, unreadable: entry.path };
    }
  }
  return { digests };
}

async function planPrune(config: Readonly<Config>, home: string, now: number): Promise<Plan> {
  const plan: Plan = { items: [], notes: new Set(), kept: 0 };
  const seen = new Set<string>();
  const add = (path: string, bytes: number, why: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    plan.items.push({ path, bytes, why });
  };

  // Run files: the caller has checked that no server of this home runs.
  const run = join(home, "run");
  if ((await real(run)) === run) {
    for (const file of await filesIn(run)) {
      if (file.name === "server.json") {
        const read = await readServerRecord(serverRecordPath(config));
        if (read.state === "found" && processAlive(read.record.pid)) continue;
        add(file.path, file.info.size, "record of a server that is gone");
      } else if (file.name === "admin.token") {
        add(file.path, file.info.size, "token of a server that is gone");
      }
    }
  }

  const dbDir = await real(databasePath(config));
  const configuredDb = databasePath(config).replace(/\/+$/, "");
  const dbParent = await real(join(configuredDb, ".."));
  if (config.database.url === undefined && dbParent !== undefined && within(home, dbParent)) {
    const lock = join(dbParent, `${configuredDb.split(sep).pop() ?? ""}.lock`);
    const info = await lstat(lock).catch(() => undefined);
    if (info?.isFile() === true) {
      const pid = pidIn(await readFile(lock, "utf8").catch(() => ""));
      if (pid === undefined || !processAlive(pid))
        add(lock, info.size, "database lock of a process that is gone");
    }
  }

  // The model store: partial downloads and unreferenced blobs.
  const models = await real(modelsPath(config));
  if (models !== undefined && !within(home, models)) {
    plan.notes.add(`${modelsPath(config)} (models) resolves to ${models}, outside ${home}: left alone`);
  } else if (models !== undefined) {
    const used = await usedDigests(models);
    if (used.unreadable !== undefined) {
      plan.notes.add(
        `${used.unreadable} cannot be read as a manifest: no blob is removed as unreferenced (the blobs it names are unknown)`,
      );
    }
    const blobs = join(models, "blobs");
    if ((await real(blobs)) === blobs) {
      for (const file of await filesIn(blobs)) {
        const why = PARTIAL.test(file.name)
          ? "partial download"
          : BLOB.test(file.name) &&
              used.unreadable === undefined &&
              !used.digests.has(file.name.replace("-", ":"))
            ? "blob no manifest references"
            : undefined;
        if (why === undefined) continue;
        if (now - file.info.mtimeMs < RECENT_MS) plan.kept++;
        else add(file.path, file.info.size, why);
      }
    }
  }

  // Writers' temp files where aixcl writes: the home's own files (config.yaml), and the model
  // store, the vault, run/ and logs/ inside it; never another program's directories, nor the
  // database (PGlite's own files).
  const walk = async (dir: string, deep: boolean): Promise<void> => {
    if (dbDir !== undefined && dir === dbDir) return;
    for (const entry of await dirEntries(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (deep) await walk(path, deep);
      } else if (entry.isFile() && isTempName(entry.name)) {
        const info = await lstat(path);
        if (now - info.mtimeMs < RECENT_MS) plan.kept++;
        else add(path, info.size, "temp file");
      }
    }
  };
  await walk(home, false);
  for (const configured of [modelsPath(config), vaultPath(config), run, join(home, "logs")]) {
    const dir = await real(configured);
    if (dir !== undefined && dir !== home && within(home, dir)) await walk(dir, true);
  }
  return plan;
}

/**
 * Whether `home` holds something only aixcl writes there: its config.yaml, its vault, or its log.
 * A mistaken AIXCL_HOME ($HOME, /) has other programs' `models/`, `logs/` and `run/`, which
 * `--all` would otherwise remove with everything below them.
 */
async function isAixclHome(config: Readonly<Config>, home: string): Promise<boolean> {
  const marks = [
    join(home, "config.yaml"),
    join(vaultPath(config), "meta.json"),
    join(home, "logs", LOG_FILE),
  ];
  for (const mark of marks) if ((await real(mark)) !== undefined) return true;
  return false;
}

/** What `--all` removes besides: the models, the database, the vault, the logs, run/. */
async function planAll(config: Readonly<Config>, home: string, plan: Plan): Promise<void> {
  const parts: [string | undefined, string][] = [
    [modelsPath(config), "models"],
    [config.database.url === undefined ? databasePath(config) : undefined, "database"],
    [vaultPath(config), "vault"],
    [join(home, "logs"), "logs"],
    [join(home, "run"), "run files"],
  ];
  if (config.database.url !== undefined) {
    plan.notes.add("the database is the PostgreSQL server of database.url: its data is not touched");
  }
  for (const [configured, why] of parts) {
    if (configured === undefined) continue;
    const path = await real(configured);
    if (path === undefined) continue;
    if (!within(home, path) || path === home) {
      plan.notes.add(`${configured} (${why}) resolves to ${path}, outside ${home}: left alone`);
      continue;
    }
    // Whatever the quick pass found inside is part of this now.
    plan.items = plan.items.filter((item) => !within(path, item.path));
    plan.items.push({ path, bytes: await sizeOf(path), why });
  }
  const lock = `${databasePath(config).replace(/\/+$/, "")}.lock`;
  const lockReal = await real(lock);
  if (config.database.url === undefined && lockReal !== undefined && within(home, lockReal)) {
    if (!plan.items.some((item) => item.path === lockReal)) {
      plan.items.push({ path: lockReal, bytes: (await lstat(lockReal)).size, why: "database lock" });
    }
  }
}

/** One line typed on the terminal (or undefined at end of input). */
function readLine(): Promise<string | undefined> {
  const { stdin } = cliIo();
  stdin.setEncoding("utf8");
  return new Promise((resolve) => {
    let text = "";
    const finish = (line: string | undefined) => {
      stdin.off("data", onData);
      stdin.off("end", onEnd);
      stdin.pause();
      resolve(line);
    };
    const onData = (chunk: string) => {
      text += chunk;
      const end = text.indexOf("\n");
      if (end >= 0) finish(text.slice(0, end).replace(/\r$/, ""));
    };
    const onEnd = () => finish(text === "" ? undefined : text.replace(/\r?\n$/, ""));
    stdin.on("data", onData);
    stdin.on("end", onEnd);
    stdin.resume();
  });
}

export function pruneCommand(run: RunCommand): Command {
  return new Command("prune")
    .description(
      "remove stale run files, partial downloads, unreferenced blobs and temp files from this home",
    )
    .option("--all", "also remove the models, the database, the vault and the logs (asks for the home path)")
    .option("--dry-run", "print what would be removed, remove nothing")
    .action((options: { all?: boolean; dryRun?: boolean }) =>
      run(async () => {
        const config = cliConfig();
        const home = await real(config.home);
        if (home === undefined) {
          await printOut(`nothing to prune: ${config.home} does not exist`);
          return 0;
        }
        if (!(await isAixclHome(config, home))) {
          await printErr(
            `aixcl: ${home} does not look like an aixcl home (no config.yaml, vault/meta.json or logs/${LOG_FILE}): nothing removed. ` +
              "Check AIXCL_HOME; `aixcl stack init` makes a home of it.",
          );
          return 1;
        }
        const found = await findLocalServer(config);
        if (found.running) {
          await printErr(
            `aixcl: this home's server is running at ${found.server.baseUrl}: stop it before pruning`,
          );
          return 1;
        }
        const record = await readServerRecord(serverRecordPath(config));
        if (record.state === "found" && processAlive(record.record.pid)) {
          await printErr(
            `aixcl: run/server.json names process ${record.record.pid}, which is alive: stop that server before pruning`,
          );
          return 1;
        }

        if (options.all === true && config.database.url === undefined) {
          const lock = `${databasePath(config).replace(/\/+$/, "")}.lock`;
          const holder = pidIn(await readFile(lock, "utf8").catch(() => ""));
          if (holder !== undefined && processAlive(holder)) {
            await printErr(
              `aixcl: the database is open in process ${holder} (${lock}): stop it before prune --all`,
            );
            return 1;
          }
        }

        const plan = await planPrune(config, home, Date.now());
        if (options.all === true) await planAll(config, home, plan);
        for (const note of plan.notes) await printErr(`aixcl: note: ${note}`);
        if (plan.kept > 0) {
          await printErr(
            `aixcl: note: kept ${plan.kept} file(s) changed in the last ${RECENT_MS / 60_000} min (a running command may be writing them)`,
          );
        }
        const total = plan.items.reduce((sum, item) => sum + item.bytes, 0);
        const label = (item: Item) =>
          `${relative(home, item.path) || "."}  ${formatBytes(item.bytes)}  (${item.why})`;

        if (options.dryRun === true) {
          for (const item of plan.items) await printOut(`would remove ${label(item)}`);
          await printOut(`would free ${formatBytes(total)} in ${plan.items.length} item(s)`);
          return 0;
        }
        if (plan.items.length === 0) {
          await printOut("nothing to prune");
          return 0;
        }

        if (options.all === true) {
          const { stdin } = cliIo();
          if (stdin.isTTY !== true) {
            await printErr(
              "aixcl: prune --all asks for confirmation on a terminal; stdin is not one (see --dry-run)",
            );
            return 1;
          }
          for (const item of plan.items) await printErr(`  ${label(item)}`);
          await printErr(
            `This removes the ${plan.items.length} item(s) above. Type the home path (${home}) to confirm:`,
          );
          const answer = await readLine();
          if (answer !== home && answer !== config.home) {
            await printErr("aixcl: not confirmed: nothing removed");
            return 1;
          }
        }

        for (const item of plan.items) {
          await rm(item.path, { recursive: true, force: true });
          await printOut(`removed ${label(item)}`);
        }
        await printOut(`freed ${formatBytes(total)} in ${plan.items.length} item(s)`);
        return 0;
      }),
    );
}
