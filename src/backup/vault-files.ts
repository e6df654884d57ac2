/**
 * The vault directory's files, as bytes: a backup copies them exactly as on disk (encrypted; no
 * value is ever decrypted for a backup) and a restore puts them back. The master key file stays
 * out of a backup unless asked for, so a backup alone reveals no secret.
 */
import { randomBytes } from "node:crypto";
import { lstat, mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AppError } from "../errors.js";
import { isNotFound, isTempName, syncDir } from "../lib/files.js";
import { isSafeVaultName, VAULT_KEY } from "./manifest.js";

export interface VaultFile {
  /** Path relative to the vault directory, `/`-separated. */
  name: string;
  path: string;
  mtime: number;
}

/**
 * The vault's regular files, sorted, without writers' temp files and — unless `includeKey` — the
 * key file. A vault that does not exist has no files.
 */
export async function listVaultFiles(dir: string, includeKey: boolean): Promise<VaultFile[]> {
  const files: VaultFile[] = [];
  const walk = async (relative: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(join(dir, relative));
    } catch (error) {
      if (relative === "" && isNotFound(error)) return;
      throw error;
    }
    for (const name of names.sort()) {
      if (isTempName(name)) continue; // a write in progress, not part of the vault
      const rel = relative === "" ? name : `${relative}/${name}`;
      if (rel === VAULT_KEY && !includeKey) continue;
      const path = join(dir, rel);
      const info = await lstat(path);
      if (info.isDirectory()) {
        await walk(rel);
        continue;
      }
      if (!info.isFile() || !isSafeVaultName(rel)) {
        throw new AppError("invalid_request", `unexpected file in the vault directory: ${rel}`);
      }
      files.push({ name: rel, path, mtime: Math.floor(info.mtimeMs / 1000) });
    }
  };
  await walk("");
  return files;
}

export interface VaultStage {
  /** Writes one file (0600) of the new vault from its contents; resolves once it is on disk. */
  add(relative: string, contents: AsyncIterable<Buffer>): Promise<void>;
  /**
   * Replaces the vault directory with the staged one (two renames in the same parent directory)
   * and removes the old one. Without a staged key file, the current vault's key is kept.
   * Returns whether the current key was carried over.
   */
  commit(): Promise<{ keptCurrentKey: boolean }>;
  /** Removes the staged directory. Idempotent. */
  discard(): Promise<void>;
}

/** A new vault directory built next to `vaultDir` (same file system, so the swap is a rename). */
export async function stageVault(vaultDir: string): Promise<VaultStage> {
  const parent = dirname(vaultDir);
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const stage = join(parent, `.${basename(vaultDir)}.restore-${randomBytes(6).toString("hex")}`);
  await mkdir(stage, { mode: 0o700 });
  const dirs = new Set<string>([stage]);
  let hasKey = false;
  let discarded: Promise<void> | undefined;

  const write = async (path: string, contents: AsyncIterable<Buffer> | Iterable<Buffer>) => {
    const handle = await open(path, "wx", 0o600);
    try {
      for await (const chunk of contents) await handle.write(chunk);
      await handle.sync();
    } finally {
      await handle.close();
    }
  };

  return {
    async add(relative, contents) {
      if (!isSafeVaultName(relative)) throw new AppError("invalid_request", `unsafe vault path: ${relative}`);
      const path = join(stage, ...relative.split("/"));
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      dirs.add(dirname(path));
      await write(path, contents);
      if (relative === VAULT_KEY) hasKey = true;
    },
    async commit() {
      let keptCurrentKey = false;
      if (!hasKey) {
        const current = join(vaultDir, VAULT_KEY);
        const key = await readFile(current).catch((error: NodeJS.ErrnoException) => {
          if (error.code === "ENOENT") return undefined;
          throw error;
        });
        if (key !== undefined) {
          await write(join(stage, VAULT_KEY), [key]);
          keptCurrentKey = true;
        }
      }
      for (const dir of dirs) await syncDir(dir);
      const old = join(parent, `.${basename(vaultDir)}.old-${randomBytes(6).toString("hex")}`);
      const hadVault = await lstat(vaultDir).then(
        () => true,
        () => false,
      );
      if (hadVault) await rename(vaultDir, old);
      try {
        await rename(stage, vaultDir);
      } catch (error) {
        if (hadVault) await rename(old, vaultDir);
        throw error;
      }
      await syncDir(parent);
      if (hadVault) await rm(old, { recursive: true, force: true });
      return { keptCurrentKey };
    },
    discard() {
      discarded ??= rm(stage, { recursive: true, force: true });
      return discarded;
    },
  };
}
