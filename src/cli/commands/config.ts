import { Command } from "commander";
import { stringify as toYaml } from "yaml";
import { loadConfig, redactConfig } from "../../config/load.js";
import type { Config } from "../../config/schema.js";
import type { RunCommand } from "../command.js";
import { addConfigFlags, flagsToSettings } from "../config-flags.js";
import { printOut } from "../output.js";

/**
 * `aixcl config show [--json]`: the configuration `serve` would run with (same flags, same
 * file and environment), secrets redacted.
 */
export function configCommand(run: RunCommand): Command {
  const config = new Command("config").description("inspect the configuration");
  const show = addConfigFlags(
    new Command("show")
      .description("print the resolved configuration (flags > config.yaml > AIXCL_* env > defaults)")
      .option("--json", "print JSON instead of YAML"),
  ).action((options: Record<string, unknown>) =>
    run(async () => {
      const resolved = loadConfig({ flags: flagsToSettings(options) });
      const shown = displayable(resolved);
      await printOut(options.json === true ? JSON.stringify(shown, null, 2) : toYaml(shown));
      return 0;
    }),
  );
  config.addCommand(show);
  return config;
}

/**
 * The redacted config in the spelling config.yaml accepts, so a shown value can be pasted back:
 * durations are held in ms internally but a bare number in config.yaml means seconds.
 */
function displayable(config: Readonly<Config>): Record<string, unknown> {
  const shown = redactConfig(config);
  const engine = shown.engine as Record<string, unknown>;
  engine.keep_alive = formatDuration(config.engine.keep_alive);
  const auth = shown.auth as Record<string, unknown>;
  auth.session_ttl = formatDuration(config.auth.session_ttl);
  auth.login_window = formatDuration(config.auth.login_window);
  return shown;
}

/** ms → a Go-style duration config.yaml reads back ("5m", "90s", "250ms"); forever → "-1". */
function formatDuration(ms: number): string {
  if (ms === Infinity) return "-1";
  if (ms === 0) return "0";
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
