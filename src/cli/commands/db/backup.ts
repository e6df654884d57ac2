import { resolve } from "node:path";
import { Command } from "commander";
import { createApiClient } from "../../../api/client.js";
import { loadConfig, localTokenPath, vaultPath } from "../../../config/load.js";
import type { Config } from "../../../config/schema.js";
import { AppError } from "../../../errors.js";
import type { Database } from "../../../store/types.js";
import { VERSION } from "../../../version.js";
import type { ExitCode, RunCommand } from "../../command.js";
import { printErr, printOut } from "../../output.js";
import { serverUrl } from "../models/connection.js";

const BACKUP_HELP = `
The backup is one tar file (0600) holding:
  database.sql   a plain-SQL dump (pg_dump format) of one consistent snapshot;
                 \`psql -f database.sql\` loads it into an empty PostgreSQL database
  vault/...      the vault's files exactly as on disk (encrypted, never decrypted)
  manifest.json  versions and the SHA-256 of every file (checked by \`aixcl db restore\`)

The vault's key file (vault/key) is NOT included: a backup alone reveals no secret. Keep the
key (or the vault passphrase) somewhere else; a restore keeps the key already in place.
--include-key puts it in the archive: then the archive opens the vault, protect it like the key.

With the embedded database (PGlite) stop \`aixcl serve\` first: PGlite allows one process.`;

/**
 * With embedded PGlite, refuses while a server of this home runs: PGlite's files may be opened by
 * one process only, and a second one would corrupt them. A running server is one whose local
 * token exists and that answers at the configured address (a token left by a crashed server is
 * no reason to refuse).
 */
export async function refuseRunningPgliteServer(config: Readonly<Config>, action: string): Promise<void> {
  if (config.database.url !== undefined) return;
  const { readLocalToken } = await import("../../../auth/local-token.js");
  const token = await readLocalToken(localTokenPath(config));
  if (token === undefined) return;
  const client = createApiClient({ baseUrl: serverUrl(config), apiKey: token });
  // Any answer, even a refusal, means a server is there.
  if (await client.reachable().catch(() => true)) {
    throw new AppError(
      "conflict",
      `an aixcl server is running on this home's embedded database (${serverUrl(config)}): stop the server first, then ${action} (PGlite allows one process at a time)`,
    );
  }
}

/**
 * The password source of a role aixcl manages (`database.managed`): after a rotation the URL's
 * password is stale and the vault holds the current one, as `serve` finds it.
 */
export async function managedPassword(
  config: Readonly<Config>,
): Promise<{ password?: () => Promise<string>; close(): Promise<void> }> {
  if (!config.database.managed || config.database.url === undefined)
    return { close: () => Promise.resolve() };
  const [{ openPlatformSecrets }, { silentLogger }] = await Promise.all([
    import("../../../vault/platform-secrets.js"),
    import("../../../logger.js"),
  ]);
  const secrets = await openPlatformSecrets({ config, logger: silentLogger() });
  return {
    ...(secrets.databasePassword ? { password: secrets.databasePassword } : {}),
    close: () => secrets.close(),
  };
}

/**
 * Opens the configured database without migrating it (a backup reads it as it is; a restore
 * replaces it), with the vault's password for a managed role. Closing it closes both.
 */
export async function openForDbCommand(config: Readonly<Config>): Promise<Database> {
  const { openDatabase } = await import("../../../store/open.js");
  const secrets = await managedPassword(config);
  let db: Database;
  try {
    db = await openDatabase(config, {
      migrate: false,
      ...(secrets.password ? { password: secrets.password } : {}),
    });
  } catch (error) {
    await secrets.close();
    throw error;
  }
  let closed: Promise<void> | undefined;
  return {
    engine: db.engine,
    query: db.query,
    transaction: (fn) => db.transaction(fn),
    exec: (sql) => db.exec(sql),
    close() {
      closed ??= db.close().finally(() => secrets.close());
      return closed;
    },
  };
}

interface BackupFlags {
  includeKey?: boolean;
  json?: boolean;
}

export function backupCommand(run: RunCommand): Command {
  return new Command("backup")
    .description("write a backup of the database and the (encrypted) vault to one file")
    .argument("[file]", "archive to write (default ./aixcl-backup-<UTC time>.tar); never overwritten")
    .option(
      "--include-key",
      "also put the vault's key file in the archive (the archive then unlocks the vault)",
    )
    .option("--json", "print the result as JSON")
    .addHelpText("after", BACKUP_HELP)
    .action((file: string | undefined, flags: BackupFlags) => run(() => backup(file, flags)));
}

async function backup(file: string | undefined, flags: BackupFlags): Promise<ExitCode> {
  const config = loadConfig();
  const { createBackup, defaultBackupName } = await import("../../../store/backup/backup.js");
  const target = resolve(file ?? defaultBackupName());
  if (flags.includeKey === true) {
    await printErr(
      "aixcl: warning: --include-key puts the vault's master key in the backup: anyone with the file can read every secret in it",
    );
  }
  await refuseRunningPgliteServer(config, "back up");
  const db = await openForDbCommand(config);
  try {
    const result = await createBackup({
      db,
      vaultDir: vaultPath(config),
      file: target,
      includeKey: flags.includeKey === true,
      aixclVersion: VERSION,
    });
    const { manifest } = result;
    const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
    const vaultFiles = manifest.entries.filter((entry) => entry.name.startsWith("vault/")).length;
    if (flags.json === true) {
      await printOut(
        JSON.stringify({
          file: result.file,
          size: result.size,
          engine: manifest.engine,
          schema_version: manifest.schema_version,
          tables: manifest.tables,
          vault_files: vaultFiles,
          vault_key_included: manifest.vault_key_included,
        }),
      );
    } else {
      await printOut(
        `backup written to ${result.file} (${manifest.engine}, schema version ${manifest.schema_version}, ` +
          `${rows} rows in ${manifest.tables.length} tables, ${vaultFiles} vault files` +
          `${manifest.vault_key_included ? " including the vault key" : ", vault key not included"})`,
      );
    }
    return 0;
  } finally {
    await db.close();
  }
}
