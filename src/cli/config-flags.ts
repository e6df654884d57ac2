import { readFileSync, statSync } from "node:fs";
import { Option, type Command } from "commander";
import { SETTINGS } from "../config/settings.js";
import { AppError } from "../errors.js";

/**
 * Command-line flags that set configuration, shared by `serve` and `config show` so that
 * `config show` resolves exactly what `serve` would run with. Each is declared with its setting
 * in the schema (src/config/schema.ts) and maps to one dotted setting given to
 * `cliConfig({ flags })` (highest precedence).
 */
const SETTING_FLAGS = SETTINGS.flatMap((setting) => {
  if (setting.flag === undefined) return [];
  const option = new Option(setting.flag, setting.description);
  return [{ option, key: option.attributeName(), setting: setting.path }];
});

/** Adds the configuration flags to a command. */
export function addConfigFlags(command: Command): Command {
  // A fresh Option per command: commander keeps parse state on it.
  for (const { option } of SETTING_FLAGS) command.addOption(new Option(option.flags, option.description));
  // A secret is read from a file, never taken as a flag value: argv is visible to every local
  // user through `ps` and /proc/<pid>/cmdline, and lands in shell history.
  command.option("--api-key-file <path>", "file holding the API key (auth.api_key)");
  return command;
}

/** Turns parsed command options into dotted settings for `cliConfig({ flags })`. */
export function flagsToSettings(options: Record<string, unknown>): Record<string, unknown> {
  const settings: Record<string, unknown> = {};
  for (const { key, setting } of SETTING_FLAGS) {
    if (options[key] !== undefined) settings[setting] = options[key];
  }
  if (typeof options.apiKeyFile === "string") settings["auth.api_key"] = readApiKeyFile(options.apiKeyFile);
  return settings;
}

function readApiKeyFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new AppError(
      "config_invalid",
      `invalid setting auth.api_key: cannot read --api-key-file ${path} (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      { param: "auth.api_key" },
    );
  }
  // Files written by `echo` end with a newline that is not part of the key.
  const key = text.trim();
  if (key === "") {
    throw new AppError("config_invalid", `invalid setting auth.api_key: --api-key-file ${path} is empty`, {
      param: "auth.api_key",
    });
  }
  return key;
}

/** True when a key file can be read by users other than its owner (worth a warning). */
export function isKeyFileShared(path: string): boolean {
  try {
    return (statSync(path).mode & 0o077) !== 0;
  } catch {
    return false;
  }
}
