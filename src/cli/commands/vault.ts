/**
 * `aixcl vault init|status|unseal|seal|credentials|rotate`. A running server is driven through
 * `/api/vault` (with the local token from run/admin.token, once the server has proved it is this
 * home's: see admin-session.ts), so it switches at once; without one the vault and the database
 * are used directly, and seal/unseal fail (non-zero): there is nothing to switch. Passphrases
 * are read from the terminal without echo, from stdin when it is not a terminal, or from
 * `--passphrase-file`: never from argv, which every local user can read in /proc.
 */
import { stat } from "node:fs/promises";
import { Command } from "commander";
import { ServerUnreachableError } from "../../api/http.js";
import { createVaultClient, type RotationWire, type VaultStatusWire } from "../../api/vault-client.js";
import { vaultPath } from "../../config/load.js";
import { cliConfig, cliIo } from "../io.js";
import type { Config } from "../../config/schema.js";
import { AppError } from "../../errors.js";
import { silentLogger } from "../../logger.js";
import type { Vault } from "../../vault/types.js";
import { findLocalServer, serverElseLocal, type LocalServer } from "../admin-session.js";
import type { ExitCode, RunCommand } from "../command.js";
import { printErr, printOut } from "../output.js";
import { firstLine, promptHidden, readSecretFile, readStdin } from "../secret-input.js";

interface PassphraseOptions {
  passphraseFile?: string;
}

/**
 * A passphrase from `--passphrase-file`, the terminal (twice when `confirm`) or piped stdin;
 * undefined when none was given (empty stdin).
 */
async function readPassphrase(options: PassphraseOptions, confirm = false): Promise<string | undefined> {
  if (options.passphraseFile !== undefined) {
    return (await readSecretFile(options.passphraseFile, "--passphrase-file")) || undefined;
  }
  if (cliIo().stdin.isTTY === true) {
    const first = await promptHidden("vault passphrase: ");
    if (confirm && (await promptHidden("again: ")) !== first) {
      throw new AppError("invalid_request", "the passphrases do not match");
    }
    return first || undefined;
  }
  return firstLine(await readStdin()) || undefined;
}

function openLocalVault(config: Readonly<Config>): Promise<Vault> {
  return import("../../vault/vault.js").then(({ createVault }) =>
    createVault({ dir: vaultPath(config), logger: silentLogger() }),
  );
}

/** Unseals a local vault for this process: the key file, or a passphrase (refused without one). */
async function unsealLocally(vault: Vault, options: PassphraseOptions): Promise<void> {
  const status = vault.status();
  if (!status.initialized) throw new AppError("conflict", "vault not initialized (run `aixcl vault init`)");
  if (!status.sealed) return;
  if (status.mode === "keyfile") return vault.unseal();
  const passphrase = await readPassphrase(options);
  if (passphrase === undefined) throw new AppError("vault_sealed", "vault sealed: a passphrase is needed");
  await vault.unseal(passphrase);
}

interface ServerView {
  /** This home's server and its vault status; undefined when none answers. */
  found?: { server: LocalServer; status: VaultStatusWire };
  /** Why a server the run/ files suggest is not used (see findLocalServer). */
  note?: string;
}

/** The vault status of this home's running server, when one proves it is (see admin-session.ts). */
async function serverView(config: Readonly<Config>): Promise<ServerView> {
  const found = await findLocalServer(config);
  if (!found.running) return found.note !== undefined ? { note: found.note } : {};
  try {
    return { found: { server: found.server, status: await createVaultClient(found.server).status() } };
  } catch (error) {
    if (error instanceof ServerUnreachableError) return { note: `${found.server.baseUrl} stopped answering` };
    throw error;
  }
}

/** The error for seal/unseal when no server of this home runs: the operation did not happen. */
function noServer(view: ServerView, what: string): AppError {
  const why = view.note === undefined ? "" : ` (${view.note})`;
  return new AppError("server_unreachable", `no aixcl server of this home is running${why}: ${what}`);
}

const yesNo = (value: boolean) => (value ? "yes" : "no");

function initCommand(run: RunCommand): Command {
  return new Command("init")
    .description("create the vault: a key file (default, unsealed at start) or a passphrase (starts sealed)")
    .option("--passphrase", "protect the key with a passphrase (prompted twice, or read from stdin)")
    .option("--passphrase-file <path>", "read the passphrase from this file (implies --passphrase)")
    .action((options: PassphraseOptions & { passphrase?: boolean }) =>
      run(async () => {
        const config = cliConfig();
        const vault = await openLocalVault(config);
        try {
          const status = vault.status();
          if (status.initialized) {
            throw new AppError("conflict", `vault already initialized (${status.mode ?? "unreadable"})`);
          }
          if (options.passphrase === true || options.passphraseFile !== undefined) {
            const passphrase = await readPassphrase(options, true);
            if (passphrase === undefined) throw new AppError("invalid_request", "no passphrase given");
            await vault.init({ mode: "passphrase", passphrase });
            await printOut(`vault initialized with a passphrase in ${vault.dir}`);
            await printErr("the server starts with the vault sealed: unseal it with `aixcl vault unseal`");
          } else {
            await vault.init({ mode: "keyfile" });
            await printOut(`vault initialized with a key file in ${vault.dir}`);
          }
          return 0;
        } finally {
          await vault.close();
        }
      }),
    );
}

function statusCommand(run: RunCommand): Command {
  return new Command("status")
    .description("show whether the vault is initialized and sealed (never any value)")
    .option("--json", "print the status as JSON")
    .action((options: { json?: boolean }) =>
      run(async () => {
        const config = cliConfig();
        const vault = await openLocalVault(config);
        const local = vault.status();
        await vault.close();
        const view = await serverView(config);
        // A running server's view wins: it is the process that holds (or lacks) the key.
        const status = view.found?.status ?? { ...local, mode: local.mode ?? null };
        const server = view.found?.server.baseUrl ?? null;
        if (options.json === true) {
          const note = view.note !== undefined ? { server_note: view.note } : {};
          await printOut(JSON.stringify({ ...status, path: vault.dir, server, ...note }, null, 2));
          return 0;
        }
        await printOut(
          [
            `vault:       ${vault.dir}`,
            `initialized: ${yesNo(status.initialized)}`,
            `mode:        ${status.mode ?? "-"}`,
            `sealed:      ${yesNo(status.sealed)}`,
            `entries:     ${status.entries}`,
            `server:      ${server ?? `not running${view.note === undefined ? "" : ` (${view.note})`}`}`,
          ].join("\n"),
        );
        return 0;
      }),
    );
}

function unsealCommand(run: RunCommand): Command {
  return new Command("unseal")
    .description("unseal the running server's vault (without a server: check the passphrase)")
    .option("--passphrase-file <path>", "read the passphrase from this file")
    .action((options: PassphraseOptions) =>
      run(async () => {
        const config = cliConfig();
        const vault = await openLocalVault(config);
        try {
          const status = vault.status();
          if (!status.initialized)
            throw new AppError("conflict", "vault not initialized (run `aixcl vault init`)");
          const view = await serverView(config);
          if (view.found && !view.found.status.sealed) {
            await printOut("vault already unsealed");
            return 0;
          }
          const passphrase = status.mode === "passphrase" ? await readPassphrase(options) : undefined;
          if (status.mode === "passphrase" && passphrase === undefined) {
            throw new AppError("invalid_request", "no passphrase given");
          }
          if (view.found) {
            await createVaultClient(view.found.server).unseal(passphrase);
            await printOut("vault unsealed");
            return 0;
          }
          // Still worth checking here (a wrong passphrase says so), but nothing was unsealed.
          await vault.unseal(passphrase);
          throw noServer(
            view,
            status.mode === "passphrase"
              ? "nothing was unsealed (the passphrase is correct: unseal again once `aixcl serve` runs)"
              : "nothing was unsealed (the key file unseals the vault when `aixcl serve` starts)",
          );
        } finally {
          await vault.close();
        }
      }),
    );
}

function sealCommand(run: RunCommand): Command {
  return new Command("seal")
    .description("seal the running server's vault: anything needing a secret answers 503 until unsealed")
    .action(() =>
      run(async () => {
        const view = await serverView(cliConfig());
        if (!view.found) throw noServer(view, "nothing was sealed (no process holds the vault key)");
        await createVaultClient(view.found.server).seal();
        await printOut("vault sealed");
        return 0;
      }),
    );
}

function credentialsCommand(run: RunCommand): Command {
  return new Command("credentials")
    .description("print the web admin login and (database.managed) the database URL, to this terminal")
    .option("--passphrase-file <path>", "read the passphrase from this file (passphrase vaults)")
    .option("--json", "print them as JSON")
    .action((options: PassphraseOptions & { json?: boolean }) =>
      run(async () => {
        const config = cliConfig();
        const dir = vaultPath(config);
        const owner = await stat(dir).then(
          (info) => info.uid,
          () => undefined,
        );
        if (owner !== undefined && process.getuid !== undefined && owner !== process.getuid()) {
          throw new AppError("forbidden", "the vault belongs to another user: run this as its owner");
        }
        if ((await serverView(config)).found?.status.sealed === true) {
          throw new AppError("vault_sealed", "vault sealed (run `aixcl vault unseal`)");
        }
        const vault = await openLocalVault(config);
        try {
          await unsealLocally(vault, options);
          const { ADMIN_PASSWORD, ADMIN_USERNAME, managedDatabaseUrl } =
            await import("../../platform/secrets.js");
          const username = await vault.get(ADMIN_USERNAME);
          const password = await vault.get(ADMIN_PASSWORD);
          const url = await managedDatabaseUrl(config, vault);
          if (options.json === true) {
            const admin = username && password ? { username, password } : null;
            await printOut(JSON.stringify({ admin, database_url: url ?? null }, null, 2));
            return 0;
          }
          const lines: string[] = [];
          if (username !== undefined && password !== undefined) {
            lines.push("web admin login", `  user:     ${username}`, `  password: ${password}`);
          } else {
            lines.push("no admin login is stored (start `aixcl serve` once to create one)");
          }
          if (url !== undefined) lines.push(`database URL: ${url}`);
          await printOut(lines.join("\n"));
          return 0;
        } finally {
          await vault.close();
        }
      }),
    );
}

/** Rotation without a server: the vault and the database opened directly. */
async function rotateLocally(config: Readonly<Config>, options: PassphraseOptions): Promise<RotationWire> {
  const vault = await openLocalVault(config);
  try {
    await unsealLocally(vault, options);
    const { rotateOnDatabase } = await import("../../platform/rotate.js");
    const report = await rotateOnDatabase({ config, vault, logger: silentLogger(), actor: { name: "cli" } });
    return {
      admin_user: report.adminUser ?? null,
      sessions_ended: report.sessionsEnded,
      database_password: report.databasePassword,
    };
  } finally {
    await vault.close();
  }
}

function rotateCommand(run: RunCommand): Command {
  return new Command("rotate")
    .description(
      "replace the admin password and the session secret (all sessions end) and, with database.managed, the database password",
    )
    .option("--passphrase-file <path>", "read the passphrase from this file (passphrase vaults, no server)")
    .option("--json", "print what changed as JSON")
    .action((options: PassphraseOptions & { json?: boolean }) =>
      run(async (): Promise<ExitCode> => {
        const config = cliConfig();
        const report = await serverElseLocal(
          config,
          (server) => createVaultClient(server).rotate(),
          () => rotateLocally(config, options),
        );
        if (options.json === true) {
          await printOut(JSON.stringify(report, null, 2));
          return 0;
        }
        const lines = [
          report.admin_user === null
            ? "no admin account to rotate (the first admin was removed)"
            : `admin password replaced for ${report.admin_user}`,
          `session secret replaced: ${report.sessions_ended} session(s) ended`,
        ];
        if (report.database_password) lines.push("database password replaced");
        await printOut(lines.join("\n"));
        await printErr("run `aixcl vault credentials` to see the new credentials");
        return 0;
      }),
    );
}

/** `aixcl vault`: the secrets vault. */
export function vaultCommand(run: RunCommand): Command {
  const vault = new Command("vault").description(
    "the secrets vault (init, status, unseal, seal, credentials, rotate)",
  );
  vault.addCommand(initCommand(run));
  vault.addCommand(statusCommand(run));
  vault.addCommand(unsealCommand(run));
  vault.addCommand(sealCommand(run));
  vault.addCommand(credentialsCommand(run));
  vault.addCommand(rotateCommand(run));
  return vault;
}
