/**
 * `aixcl db migrate [--json]`: applies the migrations the configured database lacks (PGlite in
 * `database.path`, or the server of `database.url`) and prints the schema version. `serve` does
 * the same at start; this runs it on its own (before an upgrade's first start, or to check).
 */
import { Command } from "commander";
import { cliConfig } from "../../io.js";
import type { ExitCode, RunCommand } from "../../command.js";
import { printOut } from "../../output.js";
import { openForDbCommand } from "./open.js";

interface MigrateFlags {
  json?: boolean;
}

export function migrateCommand(run: RunCommand): Command {
  return new Command("migrate")
    .description("apply pending database migrations and print the schema version")
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nWith the embedded database (PGlite) stop `aixcl serve` first: it holds the database (and migrated it at start).",
    )
    .action((flags: MigrateFlags) => run(() => migrateDatabase(flags)));
}

async function migrateDatabase(flags: MigrateFlags): Promise<ExitCode> {
  const config = cliConfig();
  // Loaded here, not at the top: `aixcl --help` should not pay for the database drivers.
  const { migrate } = await import("../../../store/migrate.js");
  const db = await openForDbCommand(config);
  try {
    const result = await migrate(db);
    if (flags.json === true) {
      await printOut(JSON.stringify({ engine: db.engine, ...result }, null, 2));
    } else {
      const applied =
        result.applied.length === 0
          ? "none, already up to date"
          : result.applied.map((m) => `${m.version} ${m.name}`).join("; ");
      await printOut(`schema version ${result.to} (applied: ${applied})`);
    }
    return 0;
  } finally {
    await db.close();
  }
}
