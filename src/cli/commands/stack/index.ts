/**
 * `aixcl stack init|start|stop|restart|status|logs|export`: the control plane of one home — the server
 * run as a background service, its health and its log (README, "Running it as a service").
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { LOG_LEVELS } from "../../../api/admin-wire.js";
import type { Config } from "../../../config/schema.js";
import type { ExitCode, RunCommand } from "../../command.js";
import { cliConfig, runFilesConfig } from "../../io.js";
import { printErr } from "../../output.js";
import { exportCommand } from "./export.js";
import { stackInit } from "./init.js";
import { stackRestart, stackStart, stackStop } from "./lifecycle.js";
import { stackLogs, type LevelName } from "./logs.js";
import { stackStatus } from "./status.js";

const PROFILES = ["core", "bld", "sys"] as const;

function profileOption(): Option {
  return new Option(
    "--profile <profile>",
    "core (inference API), bld (+ database, vault) or sys (+ web app)",
  ).choices(PROFILES);
}

function count(name: string, min: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min)
      throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return Number(value);
  };
}

function portArg(value: string): string {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError("not a port (0-65535)");
  return value;
}

/** The home's config with `--profile` applied (the setting a start runs with). */
/** Runs `body` with runFilesConfig(), saying first when config.yaml could not be used. */
async function withRunFilesConfig(body: (config: Readonly<Config>) => Promise<ExitCode>): Promise<ExitCode> {
  const { config, problem } = runFilesConfig();
  if (problem !== undefined) {
    await printErr(
      `aixcl: note: ${problem}; going on with the defaults, which is enough to reach this home's server`,
    );
  }
  return body(config);
}

function configWith(profile: string | undefined): Readonly<Config> {
  return cliConfig(profile === undefined ? {} : { flags: { profile } });
}

export function stackCommand(run: RunCommand): Command {
  const stack = new Command("stack").description(
    "run aixcl as a background service: init, start, stop, restart, status, logs; export it for Docker Compose or systemd",
  );

  stack.addCommand(
    new Command("init")
      .description("create $AIXCL_HOME: config.yaml, the vault, the database and the first admin")
      .addOption(profileOption())
      .option("--port <port>", "API port (server.port)", portArg)
      .option(
        "--database-url <url>",
        "external PostgreSQL (database.url, kept in config.yaml 0600); default: embedded PGlite",
      )
      .action((options: { profile?: string; port?: string; databaseUrl?: string }) =>
        run(() => stackInit(options)),
      ),
  );

  stack.addCommand(
    new Command("start")
      .description("start the server in the background and wait until it is healthy")
      .addOption(profileOption())
      .option("--port <port>", "API port for this start (server.port)", portArg)
      .option("--timeout <seconds>", "how long to wait for it to become healthy", count("--timeout", 1), 60)
      .action((options: { profile?: Config["profile"]; port?: string; timeout: number }) =>
        run(() => {
          const config = configWith(options.profile);
          return stackStart(config, {
            profile: config.profile,
            timeoutS: options.timeout,
            ...(options.port !== undefined ? { port: options.port } : {}),
          });
        }),
      ),
  );

  stack.addCommand(
    new Command("stop")
      .description("stop the server `stack start` started: SIGTERM, then SIGKILL after the grace period")
      .option("--timeout <seconds>", "grace period before SIGKILL", count("--timeout", 0), 30)
      .action((options: { timeout: number }) =>
        run(() => withRunFilesConfig((config) => stackStop(config, options.timeout))),
      ),
  );

  stack.addCommand(
    new Command("restart")
      .description("stop, then start with the same profile (and port) as before")
      .addOption(profileOption())
      .option("--timeout <seconds>", "how long to wait for it to become healthy", count("--timeout", 1), 60)
      .option("--stop-timeout <seconds>", "grace period before SIGKILL", count("--stop-timeout", 0), 30)
      .action((options: { profile?: Config["profile"]; timeout: number; stopTimeout: number }) =>
        run(() =>
          stackRestart(configWith(options.profile), {
            ...(options.profile !== undefined ? { profile: options.profile } : {}),
            timeoutS: options.timeout,
            stopTimeoutS: options.stopTimeout,
          }),
        ),
      ),
  );

  stack.addCommand(
    new Command("status")
      .description(
        "each component of the profile: healthy, degraded or down (exit 0 only when all are healthy)",
      )
      .option("--json", "print JSON")
      .action((options: { json?: boolean }) =>
        run(() => withRunFilesConfig((config) => stackStatus(config, options.json === true))),
      ),
  );

  stack.addCommand(
    new Command("logs")
      .description("print the server's log (logs/aixcl.log): the last lines, then -f to follow")
      .option("-n, --lines <n>", "how many lines", count("--lines", 0), 100)
      .option("-f, --follow", "keep printing new lines until interrupted")
      .addOption(
        new Option("--level <level>", "this level and above")
          .choices(Object.keys(LOG_LEVELS))
          .default("trace"),
      )
      .option("--json", "the JSON lines as written (no pretty printing)")
      .action((options: { lines: number; follow?: boolean; level: LevelName; json?: boolean }) =>
        run(() =>
          withRunFilesConfig((config) =>
            stackLogs(config, {
              lines: options.lines,
              follow: options.follow === true,
              level: options.level,
              json: options.json === true,
            }),
          ),
        ),
      ),
  );
  stack.addCommand(exportCommand(run));
  return stack;
}
