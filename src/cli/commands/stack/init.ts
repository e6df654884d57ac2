/**
 * `aixcl stack init [--profile P] [--port N] [--database-url URL]`: a new home — the directory
 * (0700), a commented config.yaml holding what was chosen and nothing else, and (profiles bld and
 * sys) the vault, the database and the first admin, made by the code the first `aixcl serve`
 * runs (openPlatformSecrets, openDatabase, attach). A home that has a config.yaml is reported and
 * left as it is.
 */
import { existsSync } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { databasePath, vaultPath } from "../../../config/load.js";
import type { Config } from "../../../config/schema.js";
import { SETTINGS } from "../../../config/settings.js";
import { silentLogger } from "../../../logger.js";
import type { VaultStatus } from "../../../vault/types.js";
import type { ExitCode } from "../../command.js";
import { cliConfig } from "../../io.js";
import { printOut } from "../../output.js";

export interface InitChoices {
  profile?: string;
  port?: string;
  databaseUrl?: string;
}

const describe = (path: string): string => SETTINGS.find((s) => s.path === path)?.description ?? "";

/** config.yaml with the chosen settings, each under its description; the others as comments. */
function configText(choices: InitChoices): string {
  const lines = [
    `# aixcl configuration, written by \`aixcl stack init\` on ${new Date().toISOString()}.`,
    "# Only what was chosen is set: every other setting keeps its default.",
    "# All settings, their defaults and AIXCL_* variables: `aixcl config show --describe`.",
    "# This file wins over AIXCL_* variables; command-line flags win over it.",
    "",
    `# ${describe("profile")}`,
    choices.profile !== undefined ? stringify({ profile: choices.profile }).trimEnd() : "# profile: sys",
    "",
  ];
  const server = `  # ${describe("server.port")}\n`;
  lines.push(
    choices.port !== undefined
      ? `server:\n${server}  port: ${Number(choices.port)}`
      : `# server:\n# ${server}#   port: 11434`,
    "",
  );
  const database = `  # ${describe("database.url")}\n`;
  lines.push(
    choices.databaseUrl !== undefined
      ? `database:\n${database}${stringify({ url: choices.databaseUrl }).trimEnd().replace(/^/gm, "  ")}`
      : `# database:\n# ${database}#   url: postgres://user@127.0.0.1:5432/aixcl`,
    "",
  );
  return lines.join("\n");
}

function nextSteps(config: Readonly<Config>): string[] {
  const steps = [
    "next:",
    "  aixcl stack start          start the server in the background",
    "  aixcl stack status         what runs and whether it is healthy",
  ];
  if (config.profile !== "core") {
    steps.push("  aixcl vault credentials    the admin's user name and password (web app, `aixcl users`)");
  }
  steps.push("  aixcl models add <name>    fetch a model");
  return steps;
}

/** The home's vault as it is on disk (read only: nothing is unsealed or created). */
async function vaultStatus(config: Readonly<Config>): Promise<VaultStatus> {
  const { createVault } = await import("../../../vault/vault.js");
  return createVault({ dir: vaultPath(config), logger: silentLogger() }).status();
}

/** What an existing home holds (nothing is changed). */
async function report(config: Readonly<Config>): Promise<string[]> {
  const lines = [`${config.home} is already initialized (config.yaml exists; nothing was changed)`];
  lines.push(`  profile:  ${config.profile}`, `  port:     ${config.server.port}`);
  if (config.profile !== "core") {
    const vault = await vaultStatus(config);
    lines.push(
      `  vault:    ${vault.initialized ? `initialized (${vault.mode ?? "unknown"} mode)` : "not initialized (the first start creates it)"}`,
    );
    lines.push(
      `  database: ${
        config.database.url !== undefined
          ? "PostgreSQL (database.url)"
          : existsSync(databasePath(config))
            ? `PGlite in ${databasePath(config)}`
            : "PGlite (created at the first start)"
      }`,
    );
  }
  return lines;
}

/** The vault (key file mode unless one exists), the database, migrated, and the first admin. */
async function createPlatform(config: Readonly<Config>): Promise<void> {
  const { openPlatformSecrets } = await import("../../../platform/secrets.js");
  const { openDatabase } = await import("../../../store/open.js");
  const secrets = await openPlatformSecrets({ config, logger: silentLogger() });
  try {
    const password = secrets.databasePassword;
    const db = await openDatabase(config, password ? { password } : {});
    try {
      await secrets.attach(db);
    } finally {
      await db.close();
    }
  } finally {
    await secrets.close();
  }
}

export async function stackInit(choices: InitChoices): Promise<ExitCode> {
  const flags: Record<string, unknown> = {};
  if (choices.profile !== undefined) flags.profile = choices.profile;
  if (choices.port !== undefined) flags["server.port"] = choices.port;
  if (choices.databaseUrl !== undefined) flags["database.url"] = choices.databaseUrl;
  // Validated before anything is written: a bad choice names its setting and creates nothing.
  const chosen = cliConfig({ flags, readFile: false });
  const file = join(chosen.home, "config.yaml");
  if (existsSync(file)) {
    await printOut([...(await report(cliConfig())), "", ...nextSteps(cliConfig())].join("\n"));
    return 0;
  }

  if (chosen.database.url !== undefined) {
    const { checkDatabaseUrl } = await import("../../../store/open.js");
    checkDatabaseUrl(chosen.database.url);
  }

  // 0700 whether it is new or not (a directory an earlier `serve` made, say): it holds the vault.
  await mkdir(chosen.home, { recursive: true, mode: 0o700 });
  await chmod(chosen.home, 0o700);
  // What this init creates, removed again when it fails (an unreachable database, a sealed
  // vault): a config.yaml left behind would make the next init report "already initialized".
  const created = [
    file,
    vaultPath(chosen),
    ...(chosen.database.url === undefined ? [databasePath(chosen)] : []),
  ].filter((path) => !existsSync(path));
  await writeFile(file, configText(choices), { mode: 0o600, flag: "wx" });
  const config = cliConfig();
  const lines = [`initialized ${config.home} (profile ${config.profile})`, `  wrote ${file}`];

  if (config.profile !== "core") {
    try {
      await createPlatform(config);
    } catch (error) {
      for (const path of created) await rm(path, { recursive: true, force: true });
      throw error;
    }
    const { mode } = await vaultStatus(config);
    lines.push(
      `  vault:    ${vaultPath(config)} (${mode === "passphrase" ? "passphrase mode: sealed at every start until `aixcl vault unseal`" : "key file mode: unsealed at every start"})`,
      `  database: ${config.database.url !== undefined ? "PostgreSQL (database.url), migrated" : `PGlite in ${databasePath(config)}, migrated`}`,
      "  admin:    created; its password is in the vault (`aixcl vault credentials`)",
    );
  }
  await printOut([...lines, "", ...nextSteps(config)].join("\n"));
  return 0;
}
