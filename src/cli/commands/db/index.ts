import { Command } from "commander";
import type { RunCommand } from "../../command.js";
import { backupCommand } from "./backup.js";
import { migrateCommand } from "./migrate.js";
import { restoreCommand } from "./restore.js";
import { shellCommand } from "./shell.js";

/**
 * `aixcl db migrate|backup|restore|shell`: the platform database (embedded PGlite in `$AIXCL_HOME/db`,
 * or the PostgreSQL server of `database.url`) and the vault that goes with it.
 */
export function dbCommand(run: RunCommand): Command {
  const db = new Command("db").description("the platform database: migrate, backup, restore, shell");
  for (const command of [migrateCommand(run), backupCommand(run), restoreCommand(run), shellCommand(run)])
    db.addCommand(command);
  return db;
}
