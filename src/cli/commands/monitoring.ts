import { lstat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Command } from "commander";
import type { Config } from "../../config/schema.js";
import { AppError } from "../../errors.js";
import { makeDirs } from "../../lib/files.js";
import { DURATION, monitoringFiles, TOKEN_FILE } from "../../metrics/monitoring.js";
import type { RunCommand } from "../command.js";
import { cliConfig } from "../io.js";
import { printErr, printOut } from "../output.js";

interface ExportOptions {
  target?: string;
  scrapeInterval: string;
  force?: boolean;
}

/** `host:port`, `[v6]:port`: what Prometheus accepts as a static target. */
const TARGET = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):\d{1,5}$/;

/** Where the configured server is reached from this machine: a wildcard bind means loopback. */
function defaultTarget(config: Readonly<Config>): string {
  const { host, port } = config.server;
  if (port === 0) {
    throw new AppError(
      "invalid_request",
      "server.port is 0 (a free port at each start): give --target host:port",
    );
  }
  if (host === "0.0.0.0") return `127.0.0.1:${port}`;
  if (host === "::") return `[::1]:${port}`;
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

function exportCommand(run: RunCommand): Command {
  return new Command("export")
    .description(
      "write a Prometheus scrape config (prometheus.yml), alert rules (aixcl-alerts.yml) and Grafana dashboards (grafana/*.json) into DIR",
    )
    .argument("<dir>", "directory to write into (created if missing)")
    .option("--target <host:port>", "address Prometheus scrapes (default: server.host and server.port)")
    .option("--scrape-interval <duration>", "Prometheus scrape and rule evaluation interval", "15s")
    .option("--force", "overwrite files that already exist")
    .action((dir: string, options: ExportOptions) =>
      run(async () => {
        const config = cliConfig();
        const target = options.target ?? defaultTarget(config);
        if (!TARGET.test(target)) {
          throw new AppError("invalid_request", `--target must be host:port, not "${target}"`);
        }
        if (!DURATION.test(options.scrapeInterval)) {
          throw new AppError(
            "invalid_request",
            `--scrape-interval must be a Prometheus duration (15s, 1m), not "${options.scrapeInterval}"`,
          );
        }
        const root = resolve(dir);
        const files = monitoringFiles({
          target,
          authRequired: config.auth.api === "required",
          scrapeInterval: options.scrapeInterval,
        }).map((file) => ({ ...file, path: join(root, file.path) }));
        // All or nothing: a refusal writes no file, so an export is never half old, half new.
        if (options.force !== true) {
          const taken: string[] = [];
          for (const file of files) if (await exists(file.path)) taken.push(file.path);
          if (taken.length > 0) {
            await printErr(`aixcl: not overwriting ${taken.join(", ")} (use --force)`);
            return 1;
          }
        }
        for (const file of files) {
          await makeDirs(dirname(file.path));
          await writeFile(file.path, file.content, { flag: options.force === true ? "w" : "wx" });
          await printOut(file.path);
        }
        if (config.auth.api === "required") {
          await printErr(
            `auth.api is required: put an API key in ${join(root, TOKEN_FILE)} for the scrape (see prometheus.yml)`,
          );
        }
        return 0;
      }),
    );
}

export function monitoringCommand(run: RunCommand): Command {
  return new Command("monitoring")
    .description("Prometheus and Grafana files for monitoring this server")
    .addCommand(exportCommand(run));
}
