import { resolve } from "node:path";
import { Command } from "commander";
import { loadConfig, vaultPath } from "../../../config/load.js";
import { VERSION } from "../../../version.js";
import type { ExitCode, RunCommand } from "../../command.js";
import { printErr, printOut } from "../../output.js";
import { openForDbCommand, refuseRunningPgliteServer } from "./open.js";

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
