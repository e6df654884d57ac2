import { readFileSync, statSync } from "node:fs";
import type { Command } from "commander";
import { AppError } from "../errors.js";

/**
 * Command-line flags that set configuration, shared by `serve` and `config show` so that
 * `config show` resolves exactly what `serve` would run with. Each maps to one dotted setting
 * given to `loadConfig({ flags })` (highest precedence).
 */
const SETTING_FLAGS = [
  { flag: "--profile <profile>", key: "profile", setting: "profile", help: "parts to run: core, bld or sys" },
  { flag: "--home <dir>", key: "home", setting: "home", help: "aixcl home directory (default ~/.aixcl)" },
  {
    flag: "--host <address>",
    key: "host",
    setting: "server.host",
    help: "address to bind (default 127.0.0.1)",
  },
  {
    flag: "--port <port>",
    key: "port",
    setting: "server.port",
    help: "API port (default 11434; 0 = any free port)",
  },
  { flag: "--models <dir>", key: "models", setting: "models.path", help: "model store directory" },
  {
    flag: "--num-parallel <n>",
    key: "numParallel",
    setting: "engine.num_parallel",
    help: "parallel requests per model, or auto",
  },
  {
    flag: "--max-queue <n>",
    key: "maxQueue",
    setting: "engine.max_queue",
    help: "requests queued before 503",
  },
  {
    flag: "--max-loaded-models <n>",
    key: "maxLoadedModels",
    setting: "engine.max_loaded_models",
    help: "models kept loaded at once",
  },
  {
    flag: "--keep-alive <duration>",
    key: "keepAlive",
    setting: "engine.keep_alive",
    help: "idle time before a model unloads (e.g. 5m, 0, -1)",
  },
  {
    flag: "--threads <n>",
    key: "threads",
    setting: "engine.threads",
    help: "compute threads per runner, or auto",
  },
  {
    flag: "--context-length <tokens>",
    key: "contextLength",
    setting: "engine.context_length",
    help: "default context length",
  },
  { flag: "--auth-api <mode>", key: "authApi", setting: "auth.api", help: "API auth: off or required" },
  { flag: "--log-level <level>", key: "logLevel", setting: "log.level", help: "fatal … trace, or silent" },
] as const;

/** Adds the configuration flags to a command. */
export function addConfigFlags(command: Command): Command {
  for (const { flag, help } of SETTING_FLAGS) command.option(flag, help);
  // A secret is read from a file, never taken as a flag value: argv is visible to every local
  // user through `ps` and /proc/<pid>/cmdline, and lands in shell history.
  command.option("--api-key-file <path>", "file holding the API key (auth.api_key)");
  return command;
}

/** Turns parsed command options into dotted settings for `loadConfig({ flags })`. */
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
