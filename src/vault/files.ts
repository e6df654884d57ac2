/**
 * Crash-safe file handling for the vault: private directories, 0600 files written atomically
 * (src/lib/files.ts: a `kill -9` or power loss leaves the old file or the new one, never a torn
 * one), durable removal, and tidying of temp files a killed writer left behind.
 */
import { chmodSync, mkdirSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { isNotFound, isTempName, removeQuietly, syncDir } from "../lib/files.js";

const DIR_MODE = 0o700;

/** Creates `dir` (and parents) and makes sure it is 0700 even if it existed with a wider mode. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  if ((statSync(dir).mode & 0o777) !== DIR_MODE) chmodSync(dir, DIR_MODE);
}

/** Removes `path` and makes the removal durable; false when it did not exist. */
export async function removeFile(path: string): Promise<boolean> {
  if (!(await removeQuietly(path))) return false;
  await syncDir(dirname(path));
  return true;
}

/** The file's bytes, or undefined when it does not exist. */
export async function readIfExists(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

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
