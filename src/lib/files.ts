/**
 * File-system helpers shared by every part that writes state to disk (vault, model store, pulls,
 * run files). One implementation of each, because each is easy to get subtly wrong:
 * - an atomic write goes to a temp file in the same directory (created with O_EXCL), is fsynced,
 *   renamed over the target, and the directory is fsynced: a `kill -9` or power loss at any
 *   moment leaves either the old file or the new one, never a torn one;
 * - temp files are named `.<name>.<random>.tmp`, so a directory scan can tell them from entries.
 */
import { randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import {
  constants,
  copyFile,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  stat,
  statfs,
  unlink,
} from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";

/** True for "no such file or directory" (ENOENT). */
export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

/** True for a path that is missing, or runs through something that is not a directory. */
export function isMissingPath(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** The entries of directory `dir`; none when the path is missing (isMissingPath). */
export async function dirEntries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isMissingPath(error)) return [];
    throw error;
  }
}

/** Makes a rename or removal in `dir` durable: the directory entry needs its own fsync. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes a file; false when it did not exist. */
export async function removeQuietly(path: string): Promise<boolean> {
  try {
    await unlink(path);
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw error;
  }
}

/** A temp path beside `target` (see the module comment for the naming). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
}

/** A writer's temp file name (see tempPathFor): never an entry of the directory it is in. */
export const isTempName = (name: string): boolean => name.startsWith(".") && name.endsWith(".tmp");

export interface AtomicWriteOptions {
  /** Mode of the new file. Default 0o600. */
  mode?: number;
  /**
   * Create the directory (0755) when missing, retrying when it vanishes in between (a concurrent
   * delete pruning empty directories). Default false: the directory must exist.
   */
  createDir?: boolean;
}

/** Creates `path` exclusively, making its directory first when asked (see AtomicWriteOptions). */
export async function openExclusive(path: string, mode: number, createDir: boolean) {
  for (let attempt = 0; ; attempt++) {
    if (createDir) await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    try {
      return await open(path, "wx", mode);
    } catch (error) {
      if (!createDir || !isNotFound(error) || attempt >= 3) throw error;
    }
  }
}

/** Replaces `path` with `data` atomically and durably (see the module comment). */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions = {},
): Promise<void> {
  const temp = tempPathFor(path);
  try {
    const handle = await openExclusive(temp, options.mode ?? 0o600, options.createDir === true);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDir(dirname(path));
}

/** The nearest existing directory at or above `path` (a home not created yet is measured at its parent). */
export async function existingAncestor(path: string): Promise<string> {
  let dir = path;
  for (;;) {
    try {
      await stat(dir);
      return dir;
    } catch (error) {
      if (!isMissingPath(error) || dirname(dir) === dir) throw error;
      dir = dirname(dir);
    }
  }
}

/**
 * `mkdir -p` for a directory the user names. Node 20's recursive mkdir loops forever, at full CPU,
 * where a parent exists but refuses new entries with ENOENT (`/proc/foo`): here each missing level
 * is made in turn from the nearest existing ancestor, so that error ends the call.
 */
export async function makeDirs(path: string, mode = 0o755): Promise<void> {
  const existing = await existingAncestor(path);
  const missing: string[] = [];
  for (let dir = path; dir !== existing; dir = dirname(dir)) missing.unshift(dir);
  for (const dir of missing) {
    try {
      await mkdir(dir, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
  }
}

/**
 * Bytes available to this process on the file system that holds (or will hold) `path`, measured
 * at its nearest existing ancestor; null when it cannot be read.
 */
export async function freeBytes(path: string): Promise<number | null> {
  try {
    const stats = await statfs(await existingAncestor(path));
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

/**
 * Copies the directory tree `from` to `to`, which must not exist: directories 0700, each file with
 * its own mode, one at a time on the thread pool (the event loop stays free). A PGlite data
 * directory (~1,000 files) took ~0.3 s of CPU this way against ~0.6–1 s through Node's recursive
 * `fs.cp`, which also stats and chmods every entry. Anything but files and directories (a symbolic
 * link) is refused rather than skipped: the copy would not be whole.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  const entries = await readdir(from, { recursive: true, withFileTypes: true });
  const inside = (entry: Dirent) => relative(from, join(entry.parentPath, entry.name));
  const odd = entries.find((entry) => !entry.isFile() && !entry.isDirectory());
  if (odd) throw new Error(`cannot copy ${join(from, inside(odd))}: not a file or a directory`);
  await mkdir(to, { mode: 0o700 });
  // Shorter paths first: a directory's parent is made before it.
  const dirs = entries.filter((entry) => entry.isDirectory()).map(inside);
  for (const dir of dirs.sort((a, b) => a.length - b.length)) await mkdir(join(to, dir), { mode: 0o700 });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = inside(entry);
    await copyFile(join(from, path), join(to, path), constants.COPYFILE_EXCL);
  }
}
