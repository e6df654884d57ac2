/**
 * `aixcl db restore`: checks a backup end to end before touching anything (every tar header, the
 * manifest's own digest, every file's SHA-256 and size, the schema version), then replaces the
 * database in ONE transaction — schema objects dropped, the backup's schema re-created by the
 * migrations, its rows loaded, newer migrations applied — and only after the commit swaps in the
 * vault files. Any failure before the commit leaves the database and the vault as they were.
 */
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { AppError } from "../errors.js";
import { SCHEMA_VERSION } from "../store/migrations.js";
import type { Database } from "../store/types.js";
import { lines, loadDump } from "./load.js";
import {
  DATABASE_NAME,
  MANIFEST_NAME,
  MANIFEST_SUM_NAME,
  manifestSumLine,
  parseManifest,
  VAULT_PREFIX,
  type Manifest,
} from "./manifest.js";
import { migrateRestored, resetSchema } from "./reset.js";
import { readTar } from "./tar.js";
import { stageVault } from "./vault-files.js";

export interface RestoreOptions {
  db: Database;
  /** The vault directory to replace (`vaultPath(config)`). */
  vaultDir: string;
  file: string;
  /**
   * What `verifyBackup(file)` returned, when the caller has checked the file already (skips that
   * read; the load still checks every file's digest as it reads it).
   */
  verified?: Manifest;
}

export interface RestoreResult {
  manifest: Manifest;
  /** Schema version after the restore (the backup's, then upgraded by newer migrations). */
  schemaVersion: number;
  tables: { name: string; rows: number }[];
  /** Vault files put back (none: the vault was left as it was). */
  vaultFiles: number;
  /** The backup held no key file and the current vault's key was kept. */
  keptCurrentKey: boolean;
}

function tampered(name: string): AppError {
  return new AppError(
    "integrity_check_failed",
    `integrity check failed: ${name} in the backup does not match its checksum (the file is damaged or was altered); nothing was restored`,
  );
}

/** Passes chunks through while hashing them; `digest()` once consumed. */
function hashing(chunks: AsyncIterable<Buffer>) {
  const hash = createHash("sha256");
  let size = 0;
  return {
    async *[Symbol.asyncIterator]() {
      for await (const chunk of chunks) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
    },
    result: () => ({ sha256: hash.digest("hex"), size }),
  };
}

async function openBackup(file: string): Promise<FileHandle> {
  try {
    return await open(file, "r");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new AppError(
      code === "ENOENT" ? "not_found" : "invalid_request",
      `cannot read backup ${file}: ${code ?? "error"}`,
    );
  }
}

/**
 * Reads the whole archive and checks it against its manifest; returns the manifest. Refuses a
 * damaged archive, a backup of a newer schema and a newer backup format.
 */
export async function verifyBackup(file: string): Promise<Manifest> {
  const handle = await openBackup(file);
  const sums = new Map<string, { sha256: string; size: number }>();
  let manifestBytes: Buffer | undefined;
  let manifestSum: string | undefined;
  try {
    await readTar(handle, async (entry, contents) => {
      if (sums.has(entry.name))
        throw new AppError("invalid_request", `not a valid aixcl backup: ${entry.name} twice`);
      const hashed = hashing(contents);
      const kept: Buffer[] = [];
      const small = entry.name === MANIFEST_NAME || entry.name === MANIFEST_SUM_NAME;
      for await (const chunk of hashed) if (small) kept.push(chunk);
      sums.set(entry.name, hashed.result());
      if (entry.name === MANIFEST_NAME) manifestBytes = Buffer.concat(kept);
      if (entry.name === MANIFEST_SUM_NAME) manifestSum = Buffer.concat(kept).toString("utf8");
    });
  } finally {
    await handle.close();
  }
  if (manifestBytes === undefined || manifestSum === undefined) {
    throw new AppError("invalid_request", "not a valid aixcl backup: no manifest.json");
  }
  const manifestDigest = sums.get(MANIFEST_NAME)?.sha256 ?? "";
  if (manifestSum !== manifestSumLine(manifestDigest)) throw tampered(MANIFEST_NAME);
  const manifest = parseManifest(manifestBytes);
  const listed = new Set(manifest.entries.map((entry) => entry.name));
  for (const name of sums.keys()) {
    if (name !== MANIFEST_NAME && name !== MANIFEST_SUM_NAME && !listed.has(name)) {
      throw new AppError("invalid_request", `not a valid aixcl backup: ${name} is not in the manifest`);
    }
  }
  for (const entry of manifest.entries) {
    const actual = sums.get(entry.name);
    if (!actual) throw new AppError("invalid_request", `not a valid aixcl backup: ${entry.name} is missing`);
    if (actual.sha256 !== entry.sha256 || actual.size !== entry.size) throw tampered(entry.name);
  }
  if (!listed.has(DATABASE_NAME))
    throw new AppError("invalid_request", "not a valid aixcl backup: no database.sql");
  if (manifest.schema_version > SCHEMA_VERSION) {
    throw new AppError(
      "schema_mismatch",
      `the backup's schema version ${manifest.schema_version} is newer than this aixcl (${SCHEMA_VERSION}); upgrade aixcl to restore it`,
    );
  }
  return manifest;
}

/** Verifies `file`, then restores it (see the module comment). */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const manifest = options.verified ?? (await verifyBackup(options.file));
  const expected = new Map(manifest.entries.map((entry) => [entry.name, entry]));
  const hasVault = manifest.entries.some((entry) => entry.name.startsWith(VAULT_PREFIX));
  const stage = hasVault ? await stageVault(options.vaultDir) : undefined;
  const handle = await openBackup(options.file);
  try {
    const { tables, schemaVersion } = await options.db.transaction(async (tx) => {
      let loaded: Awaited<ReturnType<typeof loadDump>> | undefined;
      // The archive is read again here: whatever is loaded is hashed as it goes, so a file
      // changed since the check fails before the commit.
      await readTar(handle, async (entry, contents) => {
        const want = expected.get(entry.name);
        if (!want) return;
        const hashed = hashing(contents);
        if (entry.name === DATABASE_NAME) {
          await resetSchema(options.db, tx, manifest.schema_version);
          loaded = await loadDump(tx, lines(hashed));
        } else if (stage) {
          await stage.add(entry.name.slice(VAULT_PREFIX.length), hashed);
        }
        const actual = hashed.result();
        if (actual.sha256 !== want.sha256 || actual.size !== want.size) throw tampered(entry.name);
      });
      if (!loaded) throw new AppError("invalid_request", "not a valid aixcl backup: no database.sql");
      const restored = await tx.query<{ version: number | null }>(
        "SELECT max(version) AS version FROM schema_migrations",
      );
      if (restored.rows[0]?.version !== manifest.schema_version) {
        throw new AppError(
          "invalid_request",
          `not a valid aixcl backup: its rows record schema version ${restored.rows[0]?.version ?? "none"}, its manifest ${manifest.schema_version}`,
        );
      }
      return { tables: loaded.tables, schemaVersion: await migrateRestored(options.db, tx) };
    });
    const vault = stage ? await stage.commit() : { keptCurrentKey: false };
    return {
      manifest,
      schemaVersion,
      tables,
      vaultFiles: manifest.entries.filter((entry) => entry.name.startsWith(VAULT_PREFIX)).length,
      keptCurrentKey: vault.keptCurrentKey,
    };
  } finally {
    await handle.close();
    await stage?.discard();
  }
}
