/**
 * `aixcl db backup`: one ustar archive (0600) holding `database.sql` (a pg_dump-compatible plain
 * dump taken from one snapshot), the vault's encrypted files under `vault/`, and a manifest with
 * every file's SHA-256. The archive is written under a temp name and linked into place only when
 * complete, so a failed or interrupted backup never leaves a file that looks like a backup.
 *
 * A running server writes the same archive for `GET /api/admin/backup` (openBackupArchive) and
 * the CLI saves what it receives through saveBackup, which checks it before linking it in place.
 */
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { link, mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { basename, dirname, join } from "node:path";
import { AppError } from "../errors.js";
import type { Database } from "../store/types.js";
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
import { verifyBackup } from "./restore.js";
import { createTarWriter } from "./tar.js";
import { listVaultFiles } from "./vault-files.js";

/** What goes into an archive (createBackup and openBackupArchive). */
export interface ArchiveOptions {
  db: Database;
  /** The vault directory (`vaultPath(config)`); a missing one contributes no files. */
  vaultDir: string;
  /** Put the vault's key file in the archive too (then the archive alone unlocks the vault). Default false. */
  includeKey?: boolean;
  aixclVersion: string;
  /** The backup's time. Default now. */
  now?: Date;
}

export interface BackupOptions extends ArchiveOptions {
  /** Where to write the archive; an existing file is never overwritten. */
  file: string;
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

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

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
    if (await exists(file)) {
      throw new AppError("conflict", `${file} already exists; choose another name`);
    }
    await rename(temp, file);
    return;
  }
  await rm(temp, { force: true });
}

/**
 * Refuses an existing `file`, then creates (0600, exclusive) the temp file it will be linked from,
 * in the same directory so the final link or rename stays on one file system.
 */
async function openTemp(file: string): Promise<{ temp: string; handle: FileHandle }> {
  if (await exists(file)) throw new AppError("conflict", `${file} already exists; choose another name`);
  const temp = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString("hex")}.partial`);
  const handle = await open(temp, "wx", 0o600).catch((error: NodeJS.ErrnoException) => {
    throw new AppError(
      error.code === "ENOENT" ? "not_found" : "invalid_request",
      `cannot write ${file}: ${error.code === "ENOENT" ? `no directory ${dirname(file)}` : (error.code ?? "error")}`,
    );
  });
  return { temp, handle };
}

/** Writes the whole archive to `handle` from its start; returns its manifest. */
async function writeArchive(handle: FileHandle, options: ArchiveOptions): Promise<Manifest> {
  const now = options.now ?? new Date();
  const mtime = Math.floor(now.getTime() / 1000);
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

  const vaultFiles = await listVaultFiles(options.vaultDir, options.includeKey ?? false);
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
  return manifest;
}

export async function createBackup(options: BackupOptions): Promise<BackupResult> {
  const { temp, handle } = await openTemp(options.file);
  try {
    const manifest = await writeArchive(handle, options);
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

/** A finished archive held open for streaming (see openBackupArchive). */
export interface BackupArchive {
  manifest: Manifest;
  /** Bytes of the archive. */
  size: number;
  /** `aixcl-backup-<time>.tar` for the archive's time. */
  name: string;
  /** The archive's bytes from the start; read it once. Ending or destroying it closes the archive. */
  stream(): Readable;
  /** Closes the archive without reading it. Idempotent. */
  close(): Promise<void>;
}

/**
 * Writes an archive (never with the key file: it leaves the machine) into an anonymous file in
 * `dir` for a server to stream: the file is unlinked as soon as it is created, so only the open
 * descriptor holds it and nothing is left behind whatever happens to the download or the
 * process. The archive is complete before the first byte is sent: the database snapshot lasts as
 * long as the dump takes to write locally, never as long as a slow client takes to download it
 * (on PGlite the transaction holds the one connection every other query waits for).
 */
export async function openBackupArchive(
  options: Omit<ArchiveOptions, "includeKey"> & {
    /** A private directory for the temp file (e.g. `$AIXCL_HOME/run`); created 0700 when missing. */
    dir: string;
  },
): Promise<BackupArchive> {
  const now = options.now ?? new Date();
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const temp = join(options.dir, `.backup-${randomBytes(6).toString("hex")}.partial`);
  const handle = await open(temp, "wx+", 0o600);
  let closed: Promise<void> | undefined;
  const close = () => (closed ??= handle.close().catch(() => undefined));
  try {
    await rm(temp, { force: true });
    const manifest = await writeArchive(handle, { ...options, now, includeKey: false });
    const { size } = await handle.stat();
    return {
      manifest,
      size,
      name: defaultBackupName(now),
      stream: () => {
        // The stream owns the descriptor from here: it closes it when done or destroyed.
        closed ??= Promise.resolve();
        return handle.createReadStream({ start: 0, autoClose: true });
      },
      close,
    };
  } catch (error) {
    await rm(temp, { force: true });
    await close();
    throw error;
  }
}

/**
 * Saves an archive received as bytes (a server's `GET /api/admin/backup`) to `file` the way
 * createBackup writes one: refused when `file` exists (before `receive` is called, so no server
 * writes a backup for nothing), written 0600 under a temp name, verified against its manifest,
 * and only then linked into place.
 */
export async function saveBackup(
  file: string,
  receive: () => Promise<AsyncIterable<Uint8Array>>,
): Promise<BackupResult> {
  const { temp, handle } = await openTemp(file);
  try {
    for await (const chunk of await receive()) {
      let done = 0;
      while (done < chunk.length) {
        done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
      }
    }
    await handle.sync();
    await handle.close();
    const manifest = await verifyBackup(temp);
    await publish(temp, file);
    const { size } = await stat(file);
    return { file, manifest, size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}
