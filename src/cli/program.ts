import { Command, CommanderError } from "commander";
import { isAppError } from "../errors.js";
import { EXIT_CONFIG, type ExitCode, type RunCommand } from "./command.js";
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

/** The top-level commands, in help order, each loaded from its module. */
const COMMANDS: Record<string, (run: RunCommand) => Promise<Command>> = {
  serve: async (run) => (await import("./commands/serve.js")).serveCommand(run),
  stack: async (run) => (await import("./commands/stack/index.js")).stackCommand(run),
  config: async (run) => (await import("./commands/config.js")).configCommand(run),
  db: async (run) => (await import("./commands/db/index.js")).dbCommand(run),
  models: async (run) => (await import("./commands/models/index.js")).modelsCommand(run),
  keys: async (run) => (await import("./commands/keys.js")).keysCommand(run),
  audit: async (run) => (await import("./commands/audit.js")).auditCommand(run),
  run: async (run) => (await import("./commands/run.js")).runCommand(run),
  users: async (run) => (await import("./commands/users.js")).usersCommand(run),
  vault: async (run) => (await import("./commands/vault.js")).vaultCommand(run),
  monitoring: async (run) => (await import("./commands/monitoring.js")).monitoringCommand(run),
  version: async (run) => (await import("./commands/version.js")).versionCommand(run),
  utils: async (run) => (await import("./commands/utils/index.js")).utilsCommand(run),
};

/**
 * The commands to load for a command line whose first word is `first`: that command alone when it
 * names one (every command module loaded costs start-up time — ~0.2 s of CPU for all of them,
 * paid twice by `stack start`, once in the CLI and once in the server it starts), else all of
 * them (help, a typo to suggest a name for), and all for `utils`, whose completion walks the tree.
 */
function commandsFor(first: string | undefined): ((run: RunCommand) => Promise<Command>)[] {
  // The version needs no command: loading every command module added ~0.2 s to `aixcl --version`.
  if (first === "-v" || first === "--version") return [];
  const one =
    first !== undefined && first !== "utils" && Object.hasOwn(COMMANDS, first) ? COMMANDS[first] : undefined;
  return one !== undefined ? [one] : Object.values(COMMANDS);
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
  for (const load of commandsFor(argv[2])) program.addCommand(await load(run));
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
