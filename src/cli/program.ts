import { Command, CommanderError } from "commander";
import { isAppError } from "../errors.js";
import { EXIT_CONFIG, type ExitCode, type RunCommand } from "./command.js";
import { auditCommand } from "./commands/audit.js";
import { configCommand } from "./commands/config.js";
import { dbCommand } from "./commands/db/index.js";
import { keysCommand } from "./commands/keys.js";
import { modelsCommand } from "./commands/models/index.js";
import { monitoringCommand } from "./commands/monitoring.js";
import { runCommand } from "./commands/run.js";
import { serveCommand } from "./commands/serve.js";
import { stackCommand } from "./commands/stack/index.js";
import { usersCommand } from "./commands/users.js";
import { utilsCommand } from "./commands/utils/index.js";
import { vaultCommand } from "./commands/vault.js";
import { versionCommand } from "./commands/version.js";
import { cliIo, withCliIo, type CliIo } from "./io.js";
import { printErr } from "./output.js";
import { VERSION } from "../version.js";

/**
 * Runs one `aixcl` command line (`argv` as process.argv: node, script, arguments) and returns its
 * exit status. Commands return a status; errors they throw are printed as one line
 * (`aixcl: <message>`) without a stack. With `io`, the command reads and writes those streams and
 * that environment instead of the process's (src/cli/io.ts): the tests run most commands this
 * way, in their own process.
 */
export function runAixcl(argv: string[], io?: CliIo): Promise<ExitCode> {
  return io === undefined ? main(argv) : withCliIo(io, () => main(argv));
}

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
  program.addCommand(stackCommand(run));
  program.addCommand(configCommand(run));
  program.addCommand(dbCommand(run));
  program.addCommand(modelsCommand(run));
  program.addCommand(keysCommand(run));
  program.addCommand(auditCommand(run));
  program.addCommand(runCommand(run));
  program.addCommand(usersCommand(run));
  program.addCommand(vaultCommand(run));
  program.addCommand(monitoringCommand(run));
  program.addCommand(versionCommand(run));
  program.addCommand(utilsCommand(run));
  // addCommand (unlike command()) does not pass settings down: every command must throw, not exit.
  // Nor output settings: help and usage errors go to this run's streams.
  const output = {
    writeOut: (text: string) => void cliIo().stdout.write(text),
    writeErr: (text: string) => void cliIo().stderr.write(text),
  };
  const throwInsteadOfExit = (command: Command): void => {
    command.exitOverride();
    command.configureOutput(output);
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
