import { resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { Command } from "commander";
import { vaultPath } from "../../../config/load.js";
import { cliConfig, cliIo } from "../../io.js";
import type { Config } from "../../../config/schema.js";
import { EXIT_CONFIG, type ExitCode, type RunCommand } from "../../command.js";
import { printErr, printOut } from "../../output.js";
import { currentManagedPassword, openForDbCommand, refuseRunningPgliteServer } from "./open.js";

const RESTORE_HELP = `
The backup is checked first (every file's SHA-256, the schema version): a damaged or altered
archive, or one from a newer aixcl, is refused before anything changes. The database is then
replaced in one transaction (a failure leaves it as it was), and after that the vault directory.
A backup without the vault key keeps the key already in place (vault/key).

Embedded database (PGlite): stop \`aixcl serve\` first. External PostgreSQL: restart the servers
using it afterwards; sessions that are not in the backup have ended.`;

interface RestoreFlags {
  yes?: boolean;
  json?: boolean;
}

export function restoreCommand(run: RunCommand): Command {
  return new Command("restore")
    .description("replace the database and the vault with a backup's")
    .argument("<file>", "a backup written by `aixcl db backup`")
    .option("-y, --yes", "do not ask for confirmation (required when stdin is not a terminal)")
    .option("--json", "print the result as JSON")
    .addHelpText("after", RESTORE_HELP)
    .action((file: string, flags: RestoreFlags) => run(() => restore(file, flags)));
}

async function confirm(question: string): Promise<boolean> {
  const prompt = createInterface({ input: cliIo().stdin, output: cliIo().stderr });
  try {
    const answer = await prompt.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

/**
 * A managed role's password belongs to the server, which a restore does not touch: the restored
 * vault must hold the password in use now, not the one of the backup's time (a rotation since
 * then would otherwise lock aixcl out of its own database).
 */
async function keepManagedPassword(config: Readonly<Config>, password: string): Promise<void> {
  const [{ createVault }, { DATABASE_PASSWORD }, { silentLogger }] = await Promise.all([
    import("../../../vault/vault.js"),
    import("../../../platform/database-password.js"),
    import("../../../logger.js"),
  ]);
  const vault = createVault({ dir: vaultPath(config), logger: silentLogger() });
  try {
    if (vault.sealed && vault.status().mode === "keyfile") await vault.unseal();
    if (vault.sealed) {
      await printErr(
        "aixcl: warning: the restored vault is sealed (passphrase): it holds the database password of the backup's time; if the role's password was rotated since, set it back on the server",
      );
      return;
    }
    await vault.set(DATABASE_PASSWORD, password);
  } finally {
    await vault.close();
  }
}

async function restore(file: string, flags: RestoreFlags): Promise<ExitCode> {
  const config = cliConfig();
  const path = resolve(file);
  const { restoreBackup, verifyBackup } = await import("../../../backup/restore.js");
  // Checked before asking anything: a bad archive needs no confirmation to be refused.
  const manifest = await verifyBackup(path);
  const target = config.database.url === undefined ? "the embedded database" : "the PostgreSQL database";
  if (flags.yes !== true) {
    if (cliIo().stdin.isTTY !== true) {
      await printErr("aixcl: restore replaces the database and the vault: add --yes to confirm");
      return EXIT_CONFIG;
    }
    const question = `Replace ${target} and the vault with the backup of ${manifest.created_at}? [y/N] `;
    if (!(await confirm(question))) {
      await printErr("aixcl: restore cancelled");
      return 1;
    }
  }
  await refuseRunningPgliteServer(config, "restore");
  const db = await openForDbCommand(config);
  try {
    const password = await currentManagedPassword(config);
    const result = await restoreBackup({ db, vaultDir: vaultPath(config), file: path, verified: manifest });
    if (password !== undefined && result.vaultFiles > 0) await keepManagedPassword(config, password);
    const rows = result.tables.reduce((sum, table) => sum + table.rows, 0);
    if (flags.json === true) {
      await printOut(
        JSON.stringify({
          file: path,
          created_at: manifest.created_at,
          backup_schema_version: manifest.schema_version,
          schema_version: result.schemaVersion,
          tables: result.tables,
          vault_files: result.vaultFiles,
          kept_current_vault_key: result.keptCurrentKey,
        }),
      );
    } else {
      await printOut(
        `restored ${path} (taken ${manifest.created_at}): ${rows} rows in ${result.tables.length} tables, ` +
          `${result.vaultFiles} vault files; schema version ${result.schemaVersion}`,
      );
    }
    if (result.vaultFiles === 0) {
      await printErr("aixcl: the backup holds no vault files: the vault was left as it was");
    } else if (result.keptCurrentKey) {
      await printErr("aixcl: the backup holds no vault key: the key already in place was kept");
    } else if (!manifest.vault_key_included) {
      await printErr(
        `aixcl: the backup holds no vault key and none was in place: put the original key file at ${vaultPath(config)}/key, or unseal with the passphrase`,
      );
    }
    if (config.database.url !== undefined) {
      await printErr(
        "aixcl: restart any aixcl server using this database: sessions that are not in the backup have ended",
      );
    }
    return 0;
  } finally {
    await db.close();
  }
}
