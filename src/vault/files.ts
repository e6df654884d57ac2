/**
 * Crash-safe file handling for the vault. A write goes to a temp file in the same directory
 * (created 0600 with O_EXCL), is fsynced, renamed over the target and the directory is fsynced:
 * a `kill -9` or power loss at any moment leaves either the old file or the new one, never a torn
 * one. Temp files start with "." and end with ".tmp", so they are never taken for entries.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/** Creates `dir` (and parents) and makes sure it is 0700 even if it existed with a wider mode. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  if ((statSync(dir).mode & 0o777) !== DIR_MODE) chmodSync(dir, DIR_MODE);
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

/** Replaces `path` with `data` atomically (see the module comment). */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", FILE_MODE);
  try {
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
  // The rename is durable only once the directory entry is on disk.
  await syncDir(dir);
}

/** Removes `path` and makes the removal durable; false when it did not exist. */
export async function removeFile(path: string): Promise<boolean> {
  try {
    await rm(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
  await syncDir(dirname(path));
  return true;
}

/** The file's bytes, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** A writer's temp file (`.<name>.<random>.tmp`, see writeFileAtomic): never an entry. */
export const isTempName = (name: string): boolean => name.startsWith(".") && name.endsWith(".tmp");

/**
 * Deletes temp files a killed writer left behind, if older than `minAgeMs` (a younger one may
 * belong to a write in progress in another process). They hold ciphertext only; this is tidiness.
 */
export function removeStaleTemps(dir: string, minAgeMs: number): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!isTempName(name)) continue;
    const path = join(dir, name);
    try {
      if (now - statSync(path).mtimeMs >= minAgeMs) unlinkSync(path);
    } catch {
      // Gone already (another process tidied it): nothing to do.
    }
  }
}
