/**
 * `aixcl stack export compose|systemd DIR`: files to run aixcl under Docker Compose or systemd
 * (the generators: src/deploy/; the choices: docs/deployment.md).
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, readdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Command, InvalidArgumentError, Option } from "commander";
import type { Config } from "../../../config/schema.js";
import { composeFiles, ENV_FILE } from "../../../deploy/compose.js";
import { systemdFiles } from "../../../deploy/systemd.js";
import type { DeployFile } from "../../../deploy/types.js";
import { AppError } from "../../../errors.js";
import { isNotFound, makeDirs } from "../../../lib/files.js";
import { DURATION } from "../../../metrics/monitoring.js";
import { PACKAGE_ROOT } from "../../../package-paths.js";
import { VERSION } from "../../../version.js";
import type { ExitCode, RunCommand } from "../../command.js";
import { cliConfig } from "../../io.js";
import { printErr, printOut } from "../../output.js";

/** A secret for .env: 32 random bytes in hex, safe inside a URL and a shell-free env file. */
const newSecret = (): string => randomBytes(32).toString("hex");

function portOf(config: Readonly<Config>, flag: string | undefined): number {
  const port = flag === undefined ? config.server.port : Number(flag);
  if (port === 0) {
    throw new AppError("invalid_request", "server.port is 0 (a free port at each start): give --port");
  }
  return port;
}

function portArg(value: string): string {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    throw new InvalidArgumentError("not a port (1-65535)");
  }
  return value;
}

async function entries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
}

/**
 * Writes an export into `dir`. A directory that holds anything is refused without `force`, so
 * no file of the user's is ever overwritten by accident; with `force` the export's own files are
 * replaced. Modes are set explicitly, whatever the umask: containers read the 0644 files
 * through bind mounts as other users.
 */
async function writeExport(dir: string, files: DeployFile[], force: boolean): Promise<ExitCode> {
  const root = resolve(dir);
  const existing = await entries(root);
  if (existing.length > 0 && !force) {
    await printErr(
      `aixcl: ${root} is not empty (${existing.length} entries): choose a new directory or use --force`,
    );
    return 1;
  }
  for (const file of files) {
    const path = join(root, file.path);
    await makeDirs(dirname(path), 0o755);
    await writeFile(path, file.content, { mode: file.mode, flag: force ? "w" : "wx" });
    await chmod(path, file.mode);
    await printOut(path);
  }
  return 0;
}

interface ComposeFlags {
  buildContext: string;
  port?: string;
  memory: string;
  scrapeInterval: string;
  force?: boolean;
}

function composeCommand(run: RunCommand): Command {
  return new Command("compose")
    .description(
      "write a Docker Compose project into DIR: aixcl (built from the Dockerfile), PostgreSQL, Prometheus, Grafana",
    )
    .argument("<dir>", "directory to write into (created if missing; must be empty unless --force)")
    .option("--build-context <dir>", "aixcl checkout holding the Dockerfile", PACKAGE_ROOT)
    .option("--port <port>", "aixcl's port on 127.0.0.1 (default: server.port)", portArg)
    .option("--memory <size>", "aixcl's memory limit (models load into it), e.g. 8g", "8g")
    .option("--scrape-interval <duration>", "Prometheus scrape and rule evaluation interval", "15s")
    .option("--force", "write into a non-empty DIR, replacing the export's files (an existing .env is kept)")
    .action((dir: string, flags: ComposeFlags) =>
      run(async () => {
        const buildContext = resolve(flags.buildContext);
        if (!existsSync(join(buildContext, "Dockerfile"))) {
          throw new AppError(
            "invalid_request",
            `${buildContext} has no Dockerfile: give --build-context, a checkout of aixcl`,
          );
        }
        if (!/^\d+[bkmg]?$/i.test(flags.memory)) {
          throw new AppError(
            "invalid_request",
            `--memory must be a size like 512m or 8g, not "${flags.memory}"`,
          );
        }
        if (!DURATION.test(flags.scrapeInterval)) {
          throw new AppError(
            "invalid_request",
            `--scrape-interval must be a Prometheus duration (15s, 1m), not "${flags.scrapeInterval}"`,
          );
        }
        // The database volume keeps the password it was created with: a forced re-export must
        // not replace the secrets under a running deployment.
        const keepEnv = flags.force === true && existsSync(join(resolve(dir), ENV_FILE));
        const files = composeFiles({
          buildContext,
          version: VERSION,
          port: portOf(cliConfig(), flags.port),
          memory: flags.memory,
          scrapeInterval: flags.scrapeInterval,
          secrets: keepEnv ? undefined : { postgresPassword: newSecret(), grafanaAdminPassword: newSecret() },
        });
        const code = await writeExport(dir, files, flags.force === true);
        if (code === 0 && keepEnv) await printErr(`aixcl: kept the existing ${ENV_FILE} (its secrets)`);
        return code;
      }),
    );
}

interface SystemdFlags {
  profile?: Config["profile"];
  port?: string;
  node: string;
  force?: boolean;
}

function systemdCommand(run: RunCommand): Command {
  return new Command("systemd")
    .description("write a hardened systemd unit (aixcl.service) running `aixcl serve` into DIR")
    .argument("<dir>", "directory to write into (created if missing; must be empty unless --force)")
    .addOption(
      new Option("--profile <profile>", "profile the service runs (default: profile)").choices([
        "core",
        "bld",
        "sys",
      ]),
    )
    .option("--port <port>", "port on 127.0.0.1 (default: server.port)", portArg)
    .option("--node <path>", "node binary for ExecStart", process.execPath)
    .option("--force", "write into a non-empty DIR, replacing aixcl.service")
    .action((dir: string, flags: SystemdFlags) =>
      run(async () => {
        const config = cliConfig();
        const main = join(PACKAGE_ROOT, "dist", "cli", "main.js");
        if (!existsSync(main)) await printErr(`aixcl: warning: ${main} does not exist yet (npm run build)`);
        return writeExport(
          dir,
          systemdFiles({
            node: resolve(flags.node),
            main,
            profile: flags.profile ?? config.profile,
            port: portOf(config, flags.port),
          }),
          flags.force === true,
        );
      }),
    );
}

export function exportCommand(run: RunCommand): Command {
  return new Command("export")
    .description("deployment files: a Docker Compose project or a systemd unit")
    .addCommand(composeCommand(run))
    .addCommand(systemdCommand(run));
}
