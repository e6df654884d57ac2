import { Command } from "commander";
import { stringify as toYaml } from "yaml";
import { formatDuration } from "../../config/duration.js";
import { redactConfig } from "../../config/load.js";
import { cliConfig } from "../io.js";
import type { Config } from "../../config/schema.js";
import { SETTINGS, type SettingInfo } from "../../config/settings.js";
import type { RunCommand } from "../command.js";
import { addConfigFlags, flagsToSettings } from "../config-flags.js";
import { printOut } from "../output.js";

/**
 * `aixcl config show [--json] [--describe]`: the configuration `serve` would run with (same
 * flags, same file and environment), secrets redacted; `--describe` lists every setting with its
 * environment variable, flag, default and description instead.
 */
export function configCommand(run: RunCommand): Command {
  const config = new Command("config").description("inspect the configuration");
  const show = addConfigFlags(
    new Command("show")
      .description("print the resolved configuration (flags > config.yaml > AIXCL_* env > defaults)")
      .option("--json", "print JSON instead of YAML")
      .option("--describe", "list every setting: environment variable, flag, default, description"),
  ).action((options: Record<string, unknown>) =>
    run(async () => {
      const json = options.json === true;
      if (options.describe === true) {
        await printOut(json ? JSON.stringify(SETTINGS.map(describedJson), null, 2) : describeText());
        return 0;
      }
      const shown = displayable(cliConfig({ flags: flagsToSettings(options) }));
      await printOut(json ? JSON.stringify(shown, null, 2) : toYaml(shown));
      return 0;
    }),
  );
  config.addCommand(show);
  return config;
}

/** A setting's value in the spelling config.yaml accepts (a bare number there means seconds). */
function shownValue(setting: SettingInfo, value: unknown): unknown {
  return setting.duration === true && typeof value === "number" ? formatDuration(value) : value;
}

/**
 * The redacted config in the spelling config.yaml accepts, so a shown value can be pasted back:
 * durations are held in ms internally.
 */
function displayable(config: Readonly<Config>): Record<string, unknown> {
  const shown = redactConfig(config);
  for (const setting of SETTINGS) {
    if (setting.duration !== true) continue;
    const keys = setting.path.split(".");
    const parent = keys
      .slice(0, -1)
      .reduce<Record<string, unknown>>((node, key) => node[key] as Record<string, unknown>, shown);
    const last = keys[keys.length - 1] ?? "";
    parent[last] = shownValue(setting, parent[last]);
  }
  return shown;
}

function describedJson(setting: SettingInfo): Record<string, unknown> {
  return {
    setting: setting.path,
    env: setting.env ?? null,
    env_aliases: setting.envAliases ?? [],
    flag: setting.flag ?? null,
    default: setting.defaultValue === undefined ? null : shownValue(setting, setting.defaultValue),
    secret: setting.secret === true,
    description: setting.description,
  };
}

function describeText(): string {
  return SETTINGS.map((setting) => {
    const ways = [setting.env, ...(setting.envAliases ?? []), setting.flag]
      .filter((way) => way !== undefined)
      .join(", ");
    const fallback =
      setting.defaultValue === undefined
        ? ""
        : `  default ${JSON.stringify(shownValue(setting, setting.defaultValue))}`;
    return `${setting.path}${ways === "" ? "" : ` (${ways})`}${fallback}\n    ${setting.description}${setting.secret === true ? " [secret]" : ""}${setting.list && setting.env !== undefined ? " [env: comma-separated]" : ""}`;
  }).join("\n");
}
