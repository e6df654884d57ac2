import { spawn } from "node:child_process";
import { constants as fsConstants } from "node:fs";
import { access } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { delimiter, join } from "node:path";
import { Command } from "commander";
import { databasePath } from "../../../config/load.js";
import { cliConfig, cliIo } from "../../io.js";
import { AppError } from "../../../errors.js";
import type { ExitCode, RunCommand } from "../../command.js";
import { printErr } from "../../output.js";
import { currentManagedPassword, refuseRunningPgliteServer } from "./open.js";

const SHELL_HELP = `
External PostgreSQL (database.url): psql connects with the URL's settings, passed in its
environment (never on the command line, where every local user could read the password).
Embedded database (PGlite): this process opens it and serves it to psql on a private unix
socket for the length of the session; stop \`aixcl serve\` first (PGlite allows one process).

Needs psql (Debian/Ubuntu: apt install postgresql-client). Arguments after -- go to psql,
e.g. aixcl db shell -- -c 'SELECT count(*) FROM users'.`;

/** The first executable `name` on PATH, or undefined. */
async function findOnPath(name: string): Promise<string | undefined> {
  for (const dir of (cliIo().env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, name);
    if (
      await access(candidate, fsConstants.X_OK).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

export function shellCommand(run: RunCommand): Command {
  return new Command("shell")
    .description("open psql on the database (PGlite through a private local socket)")
    .argument("[psql-args...]", "arguments for psql (after --)")
    .addHelpText("after", SHELL_HELP)
    .action((args: string[]) => run(() => shell(args)));
}

async function shell(args: string[]): Promise<ExitCode> {
  const config = cliConfig();
  const psql = await findOnPath(process.platform === "win32" ? "psql.exe" : "psql");
  if (psql === undefined) {
    throw new AppError(
      "not_found",
      "psql not found on PATH: install the PostgreSQL client (package postgresql-client on Debian/Ubuntu)",
    );
  }
  const { postgresConnection, servePgliteForShell } = await import("../../../store/shell.js");
  let connection: Record<string, string>;
  let close = async (): Promise<void> => undefined;
  if (config.database.url !== undefined) {
    const password = await currentManagedPassword(config);
    const { env, ignored } = postgresConnection(config.database.url, password);
    if (ignored.length > 0) {
      await printErr(`aixcl: warning: psql ignores these database.url parameters: ${ignored.join(", ")}`);
    }
    connection = env;
  } else {
    await refuseRunningPgliteServer(config, "open the shell");
    const served = await servePgliteForShell(databasePath(config));
    connection = served.env;
    close = () => served.close();
  }
  try {
    // Inherited PG* variables would override or add to the connection settings: drop them.
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(cliIo().env)) if (!name.startsWith("PG")) env[name] = value;
    return await runPsql(psql, args, { ...env, ...connection });
  } finally {
    await close();
  }
}

/**
 * Runs psql on this terminal (stdio inherited, no shell) and returns its exit status. Ctrl-C
 * reaches psql too (same process group), which cancels a query or clears its line: this process
 * ignores SIGINT meanwhile instead of dying and taking the PGlite socket with it.
 */
function runPsql(psql: string, args: string[], env: NodeJS.ProcessEnv): Promise<ExitCode> {
  return new Promise((resolve, reject) => {
    const child = spawn(psql, args, { stdio: "inherit", env });
    const ignore = () => undefined;
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on("SIGINT", ignore);
    process.on("SIGTERM", forward);
    const done = () => {
      process.off("SIGINT", ignore);
      process.off("SIGTERM", forward);
    };
    child.once("error", (error) => {
      done();
      reject(error);
    });
    child.once("exit", (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0));
    });
  });
}
