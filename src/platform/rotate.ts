/**
 * `aixcl vault rotate`: replaces the platform's secrets at once — the first admin's password,
 * the session secret (every session ends, open session requests are cut) and, for a managed
 * PostgreSQL role, the database password (new pool connections use it; running requests keep
 * their connections). Used by `POST /api/vault/rotate` on a running server and by the CLI on the
 * database directly when none runs.
 */
import { findUser, recordAudit, revokeAllSessions, setPassword } from "../auth/users.js";
import type { Config } from "../config/schema.js";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import { openDatabase } from "../store/open.js";
import type { Database } from "../store/types.js";
import { bindManagedPassword, createManagedPassword, managedPasswordOf } from "./database-password.js";
import {
  ADMIN_PASSWORD,
  ADMIN_USERNAME,
  FIRST_ADMIN,
  newAdminPassword,
  newSessionSecret,
  SESSION_SECRET,
} from "./secrets.js";
import type { Vault } from "../vault/types.js";

/** What a rotation changed (never the values). */
export interface RotationReport {
  /** The admin account whose password was replaced; undefined when it no longer exists. */
  adminUser: string | undefined;
  /** Sessions ended by the new session secret. */
  sessionsEnded: number;
  /** Whether the managed database role got a new password. */
  databasePassword: boolean;
}

export interface RotateOptions {
  vault: Vault;
  db: Database;
  logger: Logger;
  /** Who asked, for the audit log. Default `system`. */
  actor?: { id?: string; name: string; address?: string };
  /** Told the new session secret the moment the vault holds it (a server's cache of it). */
  onSessionSecret?: (secret: string) => void;
}

export async function rotateSecrets(options: RotateOptions): Promise<RotationReport> {
  const { vault, db, logger } = options;
  // Checked first so that a sealed vault changes nothing rather than half of it.
  if (vault.sealed) throw new AppError("vault_sealed", "vault sealed");

  // Sessions first: the count then includes the admin's, which a new password would end anyway.
  const sessionSecret = newSessionSecret();
  await vault.set(SESSION_SECRET, sessionSecret);
  options.onSessionSecret?.(sessionSecret);
  const sessionsEnded = await revokeAllSessions(db);

  const username = (await vault.get(ADMIN_USERNAME)) ?? FIRST_ADMIN;
  let adminUser: string | undefined;
  if (await findUser(db, username)) {
    const previous = await vault.get(ADMIN_PASSWORD);
    const password = newAdminPassword();
    // The vault first: if the database then fails, the old value goes back, and the vault never
    // lacks the password the account really has.
    await vault.set(ADMIN_PASSWORD, password);
    try {
      await setPassword(db, username, password);
    } catch (error) {
      if (previous === undefined) await vault.delete(ADMIN_PASSWORD);
      else await vault.set(ADMIN_PASSWORD, previous);
      throw error;
    }
    adminUser = username;
  }

  const managed = managedPasswordOf(db);
  if (managed) await managed.rotate(db);

  const report: RotationReport = { adminUser, sessionsEnded, databasePassword: managed !== undefined };
  await recordAudit(db, options.actor ?? { name: "system" }, "vault.rotate", undefined, {
    admin_user: adminUser ?? null,
    sessions_ended: sessionsEnded,
    database_password: report.databasePassword,
  });
  logger.info(
    { adminUser, sessionsEnded, databasePassword: report.databasePassword },
    "vault secrets rotated",
  );
  return report;
}

/**
 * Rotation with no server running (`aixcl vault rotate` offline): opens the configured database
 * itself — a managed role with the vault's password — rotates, and closes it.
 */
export async function rotateOnDatabase(
  options: Omit<RotateOptions, "db"> & { config: Readonly<Config> },
): Promise<RotationReport> {
  const { config, vault, logger } = options;
  if (vault.sealed) throw new AppError("vault_sealed", "vault sealed");
  const url = config.database.url;
  const managed =
    config.database.managed && url !== undefined ? createManagedPassword({ vault, url, logger }) : undefined;
  await managed?.prepare();
  const db = await openDatabase(config, managed ? { password: () => managed.get() } : {});
  try {
    if (managed) bindManagedPassword(db, managed);
    return await rotateSecrets({ ...options, db });
  } finally {
    await db.close();
  }
}
