import { resolve } from "node:path";
import { Command } from "commander";
import { vaultPath } from "../../../config/load.js";
import { cliConfig } from "../../io.js";
import type { Config } from "../../../config/schema.js";
import { AppError } from "../../../errors.js";
import type { BackupResult } from "../../../backup/backup.js";
import { VERSION } from "../../../version.js";
import { serverElseLocal, type LocalServer } from "../../admin-session.js";
import type { ExitCode, RunCommand } from "../../command.js";
import { printErr, printOut } from "../../output.js";
import { openForDbCommand, refuseRunningPgliteServer, runningServerUrl } from "./open.js";

const BACKUP_HELP = `
The backup is one tar file (0600) holding:
  database.sql   a plain-SQL dump (pg_dump format) of one consistent snapshot;
                 \`psql -f database.sql\` loads it into an empty PostgreSQL database
  vault/...      the vault's files exactly as on disk (encrypted, never decrypted)
  manifest.json  versions and the SHA-256 of every file (checked by \`aixcl db restore\`)

The vault's key file (vault/key) is NOT included: a backup alone reveals no secret. Keep the
key (or the vault passphrase) somewhere else; a restore keeps the key already in place.
--include-key puts it in the archive: then the archive opens the vault, protect it like the key.

When this home's server runs, the backup is taken by the server (GET /api/admin/backup, with
the local token) from one snapshot while it keeps serving, then checked here before the file is
kept. --include-key then needs the server stopped (embedded PGlite): the key is only read locally.`;

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

/** Writes the archive here, on the database and the vault directory (no server runs, or it is PostgreSQL). */
async function backupDirectly(
  config: Readonly<Config>,
  target: string,
  includeKey: boolean,
): Promise<BackupResult> {
  const { createBackup } = await import("../../../backup/backup.js");
  await refuseRunningPgliteServer(config, "back up");
  const db = await openForDbCommand(config);
  try {
    return await createBackup({
      db,
      vaultDir: vaultPath(config),
      file: target,
      includeKey,
      aixclVersion: VERSION,
    });
  } finally {
    await db.close();
  }
}

/** Has the running server write the archive, then saves it here once it verifies. */
async function backupThroughServer(server: LocalServer, target: string): Promise<BackupResult> {
  const [{ downloadBackup }, { saveBackup }] = await Promise.all([
    import("../../../api/backup-client.js"),
    import("../../../backup/backup.js"),
  ]);
  return saveBackup(target, () => downloadBackup({ baseUrl: server.baseUrl, token: server.token }));
}

async function backup(file: string | undefined, flags: BackupFlags): Promise<ExitCode> {
  const config = cliConfig();
  const { defaultBackupName } = await import("../../../backup/backup.js");
  const target = resolve(file ?? defaultBackupName());
  const includeKey = flags.includeKey === true;
  let result: BackupResult;
  if (includeKey) {
    // The server never sends the key file; on PostgreSQL the CLI reaches everything itself.
    const running = config.database.url === undefined ? await runningServerUrl(config) : undefined;
    if (running !== undefined) {
      throw new AppError(
        "conflict",
        `--include-key needs the server stopped (${running} runs on this home's embedded database): the vault's key file is only read locally. ` +
          "Stop the server and run it again, or back up without --include-key and keep a copy of vault/key apart from it",
      );
    }
    await printErr(
      "aixcl: warning: --include-key puts the vault's master key in the backup: anyone with the file can read every secret in it",
    );
    result = await backupDirectly(config, target, true);
  } else {
    result = await serverElseLocal(
      config,
      (server) => backupThroughServer(server, target),
      () => backupDirectly(config, target, false),
    );
  }
  await report(result, flags.json === true);
  return 0;
}

async function report(result: BackupResult, json: boolean): Promise<void> {
  const { manifest } = result;
  const rows = manifest.tables.reduce((sum, table) => sum + table.rows, 0);
  const vaultFiles = manifest.entries.filter((entry) => entry.name.startsWith("vault/")).length;
  if (json) {
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
}
