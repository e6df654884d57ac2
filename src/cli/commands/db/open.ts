/**
 * How the `aixcl db` commands (migrate, backup, restore, shell) reach the configured database:
 * never beside a running server on embedded PGlite, and with the vault's password for a role
 * aixcl manages (`database.managed`), as `serve` finds it.
 */
import type { Config } from "../../../config/schema.js";
import { AppError } from "../../../errors.js";
import type { Database } from "../../../store/types.js";
import { findLocalServer } from "../../admin-session.js";

/**
 * The address of this home's running server, or undefined when none runs: a running server is
 * one that proves it holds this home's local token (src/cli/admin-session.ts). One that hangs
 * still holds PGlite's lock, which refuses a second opener (src/store/pglite.ts).
 */
export async function runningServerUrl(config: Readonly<Config>): Promise<string | undefined> {
  const found = await findLocalServer(config);
  return found.running ? found.server.baseUrl : undefined;
}

/**
 * With embedded PGlite, refuses while a server of this home runs: PGlite's files may be opened by
 * one process only, and a second one would corrupt them.
 */
export async function refuseRunningPgliteServer(config: Readonly<Config>, action: string): Promise<void> {
  if (config.database.url !== undefined) return;
  const url = await runningServerUrl(config);
  if (url !== undefined) {
    throw new AppError(
      "conflict",
      `an aixcl server is running on this home's embedded database (${url}): stop the server first, then ${action} (PGlite allows one process at a time)`,
    );
  }
}

/**
 * The password source of a role aixcl manages (`database.managed`): after a rotation the URL's
 * password is stale and the vault holds the current one, as `serve` finds it.
 */
async function managedPassword(
  config: Readonly<Config>,
): Promise<{ password?: () => Promise<string>; close(): Promise<void> }> {
  if (!config.database.managed || config.database.url === undefined)
    return { close: () => Promise.resolve() };
  const [{ openPlatformSecrets }, { silentLogger }] = await Promise.all([
    import("../../../platform/secrets.js"),
    import("../../../logger.js"),
  ]);
  const secrets = await openPlatformSecrets({ config, logger: silentLogger() });
  return {
    ...(secrets.databasePassword ? { password: secrets.databasePassword } : {}),
    close: () => secrets.close(),
  };
}

/** The managed role's password in use now (`database.managed`), undefined otherwise. */
export async function currentManagedPassword(config: Readonly<Config>): Promise<string | undefined> {
  const secrets = await managedPassword(config);
  try {
    return await secrets.password?.();
  } finally {
    await secrets.close();
  }
}

/**
 * Opens the configured database without migrating it (migrate decides itself, a backup reads it
 * as it is, a restore replaces it), with the vault's password for a managed role. Closing it
 * closes both.
 */
export async function openForDbCommand(config: Readonly<Config>): Promise<Database> {
  const { closingAlso, openDatabase } = await import("../../../store/open.js");
  const secrets = await managedPassword(config);
  let db: Database;
  try {
    db = await openDatabase(config, {
      migrate: false,
      oneShot: true,
      ...(secrets.password ? { password: secrets.password } : {}),
    });
  } catch (error) {
    await secrets.close();
    throw error;
  }
  return closingAlso(db, () => secrets.close());
}
