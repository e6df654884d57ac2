#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { isAppError } from "../errors.js";
import { EXIT_CONFIG, type ExitCode, type RunCommand } from "./command.js";
import { auditCommand } from "./commands/audit.js";
import { configCommand } from "./commands/config.js";
import { dbCommand } from "./commands/db/index.js";
import { keysCommand } from "./commands/keys.js";
import { modelsCommand } from "./commands/models/index.js";
import { runCommand } from "./commands/run.js";
import { serveCommand } from "./commands/serve.js";
import { usersCommand } from "./commands/users.js";
import { vaultCommand } from "./commands/vault.js";
import { versionCommand } from "./commands/version.js";
import { printErr } from "./output.js";
import { VERSION } from "../version.js";

/**
 * The `aixcl` entry point: the only place that calls process.exit. Commands return an exit
 * status; errors they throw are printed as one line (`aixcl: <message>`) without a stack.
 */
async function main(argv: string[]): Promise<ExitCode> {
  let status: ExitCode = 0;
  const run: RunCommand = async (body) => {
    status = await body();
  };

  const program = new Command("aixcl")
    .description("local-first AI platform: Ollama- and OpenAI-compatible LLM server")
    .version(VERSION, "-v, --version")
    .showHelpAfterError();
  program.addCommand(serveCommand(run));
  program.addCommand(configCommand(run));
  program.addCommand(dbCommand(run));
  program.addCommand(modelsCommand(run));
  program.addCommand(keysCommand(run));
  program.addCommand(auditCommand(run));
  program.addCommand(runCommand(run));
  program.addCommand(usersCommand(run));
  program.addCommand(vaultCommand(run));
  program.addCommand(versionCommand(run));
  // addCommand (unlike command()) does not pass settings down: every command must throw, not exit.
  const throwInsteadOfExit = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(throwInsteadOfExit);
  };
  throwInsteadOfExit(program);

  try {
    await program.parseAsync(argv);
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      // commander has already printed help, the version or the usage error.
      return error.exitCode === 1 ? EXIT_CONFIG : error.exitCode;
    }
    if (isAppError(error)) {
      await printErr(`aixcl: ${error.message}`);
      return error.code === "config_invalid" ? EXIT_CONFIG : 1;
    }
    await printErr(`aixcl: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

process.exit(await main(process.argv));
