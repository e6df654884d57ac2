/**
 * `aixcl db backup`: one ustar archive (0600) holding `database.sql` (a pg_dump-compatible plain
 * dump taken from one snapshot), the vault's encrypted files under `vault/`, and a manifest with
 * every file's SHA-256. The archive is written under a temp name and linked into place only when
 * complete, so a failed or interrupted backup never leaves a file that looks like a backup.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, open, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { AppError } from "../../errors.js";
import type { Database } from "../types.js";
import { dumpDatabase } from "./dump.js";
import {
  DATABASE_NAME,
  FORMAT_VERSION,
  MANIFEST_NAME,
  MANIFEST_SUM_NAME,
  manifestSumLine,
  serializeManifest,
  VAULT_KEY,
  VAULT_PREFIX,
  type Manifest,
  type ManifestEntry,
} from "./manifest.js";
import { createTarWriter } from "./tar.js";
import { listVaultFiles } from "./vault-files.js";

export interface BackupOptions {
  db: Database;
  /** The vault directory (`vaultPath(config)`); a missing one contributes no files. */
  vaultDir: string;
  /** Where to write the archive; an existing file is never overwritten. */
  file: string;
  /** Put the vault's key file in the archive too (then the archive alone unlocks the vault). Default false. */
  includeKey?: boolean;
  aixclVersion: string;
  /** The backup's time. Default now. */
  now?: Date;
}

export interface BackupResult {
  file: string;
  manifest: Manifest;
  /** Bytes of the archive. */
  size: number;
}

/** `aixcl-backup-<UTC timestamp>.tar`, e.g. aixcl-backup-20250102T030405Z.tar. */
export function defaultBackupName(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/[-:]/g, "");
  return `aixcl-backup-${stamp}.tar`;
}

/** Moves the finished temp file to `file` without ever replacing an existing one. */
async function publish(temp: string, file: string): Promise<void> {
  try {
    await link(temp, file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw new AppError("conflict", `${file} already exists; choose another name`);
    // File systems without hard links: check, then rename (a race here only loses to a file
    // created in the same instant).
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EXDEV") throw error;
    if (
      await stat(file).then(
        () => true,
        () => false,
      )
    ) {
      throw new AppError("conflict", `${file} already exists; choose another name`);
    }
    await rename(temp, file);
    return;
  }
  await rm(temp, { force: true });
}

export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const now = options.now ?? new Date();
  const mtime = Math.floor(now.getTime() / 1000);
  const includeKey = options.includeKey ?? false;
  if (
    await stat(options.file).then(
      () => true,
      () => false,
    )
  ) {
    throw new AppError("conflict", `${options.file} already exists; choose another name`);
  }
  const temp = join(
    dirname(options.file),
    `.${basename(options.file)}.${randomBytes(6).toString("hex")}.partial`,
  );
  const handle = await open(temp, "wx", 0o600).catch((error: NodeJS.ErrnoException) => {
    throw new AppError(
      error.code === "ENOENT" ? "not_found" : "invalid_request",
      `cannot write ${options.file}: ${error.code === "ENOENT" ? `no directory ${dirname(options.file)}` : (error.code ?? "error")}`,
    );
  });
  try {
    const tar = createTarWriter(handle);
    const entries: ManifestEntry[] = [];

    let tables: Manifest["tables"] = [];
    let schemaVersion = 0;
    const database = await tar.addFile({ name: DATABASE_NAME, mode: 0o600, mtime }, async (write) => {
      const summary = await dumpDatabase(options.db, write, { aixclVersion: options.aixclVersion });
      tables = summary.tables;
      schemaVersion = summary.schemaVersion;
    });
    entries.push({ name: DATABASE_NAME, ...database });

    const vaultFiles = await listVaultFiles(options.vaultDir, includeKey);
    for (const file of vaultFiles) {
      const name = `${VAULT_PREFIX}${file.name}`;
      const added = await tar.addFile({ name, mode: 0o600, mtime: file.mtime }, async (write) => {
        for await (const chunk of createReadStream(file.path)) await write(chunk as Buffer);
      });
      entries.push({ name, ...added });
    }

    const manifest: Manifest = {
      format: "aixcl-backup",
      format_version: FORMAT_VERSION,
      aixcl_version: options.aixclVersion,
      schema_version: schemaVersion,
      engine: options.db.engine,
      created_at: now.toISOString(),
      vault_key_included: vaultFiles.some((file) => file.name === VAULT_KEY),
      tables,
      entries,
    };
    const written = await tar.addFile({ name: MANIFEST_NAME, mode: 0o600, mtime }, (write) =>
      write(serializeManifest(manifest)),
    );
    await tar.addFile({ name: MANIFEST_SUM_NAME, mode: 0o600, mtime }, (write) =>
      write(manifestSumLine(written.sha256)),
    );
    await tar.finish();
    await handle.sync();
    await handle.close();
    await publish(temp, options.file);
    const { size } = await stat(options.file);
    return { file: options.file, manifest, size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
