import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { AppError } from "../errors.js";
import { isLoopbackHost } from "../lib/addresses.js";
import { isNotFound } from "../lib/files.js";
import { configSchema, type Config } from "./schema.js";
import { SECRET_SETTINGS, SETTINGS } from "./settings.js";

type Tree = { [key: string]: unknown };

/** `AIXCL_*` environment variables and the setting each one sets (declared in the schema). */
export const ENV_SETTINGS: Readonly<Record<string, string>> = Object.fromEntries(
  // AIXCL_HOME is read first, on its own: it says where config.yaml is.
  SETTINGS.flatMap((s) => (s.env === undefined || s.path === "home" ? [] : [[s.env, s.path] as const])),
);
const LIST_SETTINGS = new Set(SETTINGS.filter((s) => s.list).map((s) => s.path));
/** Variables also read in lower case when the upper-case one is unset (see SettingMeta). */
const LOWER_CASE_TOO = new Set(SETTINGS.flatMap((s) => (s.envLowerCase === true && s.env ? [s.env] : [])));
/** Other variables read, in order, when a setting's own is unset (see SettingMeta.envAliases). */
const ENV_ALIASES: ReadonlyMap<string, readonly string[]> = new Map(
  SETTINGS.flatMap((s) => (s.env && s.envAliases ? [[s.env, s.envAliases] as const] : [])),
);

export interface LoadConfigOptions {
  /** Settings from command-line flags, as dotted paths (`server.port`). Highest precedence. */
  flags?: Record<string, unknown>;
  /** The environment to read `AIXCL_*` and `HOME` from. Default: `process.env`. */
  env?: Record<string, string | undefined>;
  /** Read `$AIXCL_HOME/config.yaml`. Default true. */
  readFile?: boolean;
}

function setPath(tree: Tree, path: string, value: unknown): void {
  const keys = path.split(".");
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Tree;
  }
  node[keys[keys.length - 1] ?? ""] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    const isTree = (v: unknown): v is Tree => typeof v === "object" && v !== null && !Array.isArray(v);
    out[key] = isTree(prev) && isTree(value) ? merge(prev, value) : value;
  }
  return out;
}

/** The config file path for a home directory. */
function configFilePath(home: string): string {
  return join(home, "config.yaml");
}

/**
 * Resolves the configuration once: flags > `$AIXCL_HOME/config.yaml` > `AIXCL_*` env > defaults.
 * Invalid values throw `AppError("config_invalid")` naming the setting; nothing falls back silently.
 */
export function loadConfig(options: LoadConfigOptions = {}): Readonly<Config> {
  const env = options.env ?? process.env;
  const flags = options.flags ?? {};
  const home = resolve(
    (flags.home as string | undefined) ?? env.AIXCL_HOME ?? join(env.HOME ?? homedir(), ".aixcl"),
  );

  const fromEnv: Tree = {};
  for (const [name, path] of Object.entries(ENV_SETTINGS)) {
    let raw = env[name];
    if ((raw === undefined || raw === "") && LOWER_CASE_TOO.has(name)) raw = env[name.toLowerCase()];
    for (const alias of ENV_ALIASES.get(name) ?? []) if (raw === undefined || raw === "") raw = env[alias];
    if (raw === undefined || raw === "") continue;
    const value = LIST_SETTINGS.has(path)
      ? raw
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
      : raw;
    setPath(fromEnv, path, value);
  }

  let fromFile: Tree = {};
  const file = configFilePath(home);
  if (options.readFile !== false) {
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      if (!isNotFound(error)) {
        throw new AppError("config_invalid", `cannot read ${file}: ${(error as Error).message}`);
      }
    }
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = parseYaml(text);
      } catch (error) {
        throw new AppError("config_invalid", `config.yaml is not valid YAML: ${(error as Error).message}`);
      }
      if (parsed !== null && parsed !== undefined) {
        if (typeof parsed !== "object" || Array.isArray(parsed)) {
          throw new AppError("config_invalid", "config.yaml must be a mapping of settings");
        }
        fromFile = parsed as Tree;
      }
    }
  }

  const fromFlags: Tree = {};
  for (const [path, value] of Object.entries(flags)) {
    if (path === "home" || value === undefined) continue;
    setPath(fromFlags, path, value);
  }

  const merged = merge(merge(merge({}, fromEnv), fromFile), fromFlags);
  merged.home = home;
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join(".") ?? "";
    const setting = path === "" ? "config" : path;
    const message =
      issue?.code === "unrecognized_keys"
        ? `unknown setting ${[path, issue.keys[0]].filter(Boolean).join(".")}`
        : `invalid setting ${setting}: ${issue?.message ?? "invalid"}`;
    throw new AppError("config_invalid", message, { param: setting });
  }
  const config = result.data;

  // Profile core has no database, hence no API keys or users: the static key is the only way in.
  if (config.auth.api === "required" && config.auth.api_key === undefined && config.profile === "core") {
    throw new AppError(
      "config_invalid",
      "invalid setting auth.api_key: auth.api is required and profile core has no database for API keys, so an API key must be configured (set auth.api_key or AIXCL_API_KEY)",
      { param: "auth.api_key" },
    );
  }
  if (!isLoopbackHost(config.server.host) && config.auth.api !== "required") {
    throw new AppError(
      "config_invalid",
      `refusing to listen on ${config.server.host} without API auth: setting server.host is not a loopback address, so auth.api must be "required"`,
      { param: "server.host" },
    );
  }
  for (const setting of ["session_ttl", "login_window"] as const) {
    const ms = config.auth[setting];
    if (!Number.isFinite(ms) || ms < 1000) {
      throw new AppError(
        "config_invalid",
        `invalid setting auth.${setting}: must be at least 1s (and not forever)`,
        {
          param: `auth.${setting}`,
        },
      );
    }
  }
  // llama.cpp refuses a quantized V cache without flash attention (the context fails to create):
  // say so at start-up rather than at every model load.
  if (config.engine.kv_cache_type !== "f16" && config.engine.flash_attention === "off") {
    throw new AppError(
      "config_invalid",
      `invalid setting engine.kv_cache_type: ${config.engine.kv_cache_type} needs flash attention (engine.flash_attention auto or on)`,
      { param: "engine.kv_cache_type" },
    );
  }
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The PGlite data directory a config resolves to. */
export function databasePath(config: Config): string {
  return config.database.path ?? join(config.home, "db");
}

/** The vault directory a config resolves to. */
export function vaultPath(config: Config): string {
  return config.vault.path ?? join(config.home, "vault");
}

/**
 * The local admin token of a running server (`$AIXCL_HOME/run/admin.token`, 0600): the CLI of
 * the same OS user reads it to call the admin API, as the Docker socket does for `docker`.
 */
export function localTokenPath(config: Config): string {
  return join(config.home, "run", "admin.token");
}

/**
 * Where the running server of this home listens (`$AIXCL_HOME/run/server.json`, 0600): how the CLI
 * finds a server started with `--port` (see src/auth/server-record.ts).
 */
export function serverRecordPath(config: Config): string {
  return join(config.home, "run", "server.json");
}

/** The model store directory a config resolves to. */
export function modelsPath(config: Config): string {
  return config.models.path ?? join(config.home, "models");
}

/** A copy of the config with secret settings replaced by `"<redacted>"`, for display. */
export function redactConfig(config: Config): Tree {
  // structuredClone, not a JSON round trip: keep_alive "forever" is Infinity, which JSON turns into null.
  const copy = structuredClone(config) as Tree;
  for (const path of SECRET_SETTINGS) {
    const keys = path.split(".");
    let node: Tree | undefined = copy;
    for (const key of keys.slice(0, -1)) node = node?.[key] as Tree | undefined;
    const last = keys[keys.length - 1] ?? "";
    if (node && node[last] !== undefined) node[last] = "<redacted>";
  }
  return copy;
}
