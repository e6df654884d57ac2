/**
 * The secrets the platform keeps in its vault, and their creation at first start: the vault
 * itself (key file mode), the session secret, and — when the database has no user yet — an
 * `admin` account with a random password. Nothing secret is logged: the operator reads the
 * credentials with `aixcl vault credentials`.
 */
import { randomBytes } from "node:crypto";
import { createUser } from "../auth/users.js";
import { vaultPath } from "../config/load.js";
import type { Config } from "../config/schema.js";
import type { Logger } from "../logger.js";
import type { Database } from "../store/types.js";
import {
  bindManagedPassword,
  createManagedPassword,
  DATABASE_PASSWORD,
  managedPasswordOf,
} from "./database-password.js";
import type { Vault } from "../vault/types.js";
import { createVault } from "../vault/vault.js";

/** The session-signing secret: 32 random bytes, base64url. Rotated (all sessions end) by `rotate`. */
export const SESSION_SECRET = "session.secret";
/** The web admin created at first start: its name and its password. */
export const ADMIN_USERNAME = "admin.username";
export const ADMIN_PASSWORD = "admin.password";
/** Name of the admin account created at first start. */
export const FIRST_ADMIN = "admin";

export function newSessionSecret(): string {
  return randomBytes(32).toString("base64url");
}

/** A generated login password: 24 random bytes, base64url (32 characters). */
export function newAdminPassword(): string {
  return randomBytes(24).toString("base64url");
}

const CREDENTIALS_HINT = "run `aixcl vault credentials`";

/** The session secret as a server reads it (./secrets.ts, sessionSecretCache). */
export interface SessionSecretCache {
  /** The vault's session secret; throws `vault_sealed` while the vault is sealed. */
  read(): Promise<string | undefined>;
  /** The vault now holds `secret` (a rotation): read returns it from now on. */
  replace(secret: string): void;
}

/**
 * The session secret, read from the vault once and then kept in memory: every request of a
 * signed-in page hashes its session id with it, and a vault read is a file read on libuv's thread
 * pool (~1 ms, tens of ms while the pool is busy with a model's files) in the way of each of
 * them. While the vault is sealed it answers as the vault does (`vault_sealed`) and forgets the
 * value; a rotation hands the new one over through `replace` as soon as the vault has it.
 */
export function sessionSecretCache(vault: Vault): SessionSecretCache {
  let cached: string | undefined;
  return {
    async read() {
      if (vault.sealed) {
        cached = undefined;
        return vault.get(SESSION_SECRET);
      }
      cached ??= await vault.get(SESSION_SECRET);
      return cached;
    },
    replace(secret) {
      cached = secret;
    },
  };
}

/**
 * Makes sure an unsealed vault holds what the platform needs: the session secret and, with a
 * database that has no user at all, the first admin (its password stored before the account is
 * created, so a crash in between never leaves an account nobody knows the password of). Does
 * nothing while sealed. Runs at start and again after an unseal.
 */
export async function ensurePlatformSecrets(
  vault: Vault,
  db: Database | undefined,
  logger: Logger,
): Promise<void> {
  if (vault.sealed) return;
  if ((await vault.get(SESSION_SECRET)) === undefined) await vault.set(SESSION_SECRET, newSessionSecret());
  if (!db) return;
  await managedPasswordOf(db)?.prepare();
  const { rows } = await db.query<{ any: boolean }>("SELECT EXISTS (SELECT 1 FROM users) AS any");
  if (rows[0]?.any === true) return;
  const password = newAdminPassword();
  await vault.set(ADMIN_USERNAME, FIRST_ADMIN);
  await vault.set(ADMIN_PASSWORD, password);
  await createUser(db, { username: FIRST_ADMIN, password, role: "admin" });
  logger.info(`admin account "${FIRST_ADMIN}" created, ${CREDENTIALS_HINT}`);
}

export interface PlatformSecrets {
  readonly vault: Vault;
  /**
   * The pool's password source for a managed role (`database.managed` with `database.url`):
   * pass it to `openDatabase(config, { password })`. Undefined otherwise.
   */
  readonly databasePassword: (() => Promise<string>) | undefined;
  /**
   * Once the database is open: lets `rotate` find the managed password of its pool and creates
   * the first admin when there is no user. Call with undefined in profiles without a database.
   */
  attach(db: Database | undefined): Promise<void>;
  /** Seals the vault (drops the key). Idempotent. */
  close(): Promise<void>;
}

export interface OpenPlatformSecretsOptions {
  config: Readonly<Config>;
  logger: Logger;
}

/**
 * Opens the platform's vault (`vaultPath(config)`), initializing it in key file mode on the very
 * first start, and prepares the managed database password. A passphrase vault stays sealed until
 * `aixcl vault unseal`; the platform still starts, and what needs a secret answers 503 meanwhile.
 */
export async function openPlatformSecrets(options: OpenPlatformSecretsOptions): Promise<PlatformSecrets> {
  const { config, logger } = options;
  const vault = createVault({ dir: vaultPath(config), logger });
  if (!vault.status().initialized) {
    await vault.init({ mode: "keyfile" });
    logger.info(`vault initialized, ${CREDENTIALS_HINT}`);
  } else if (vault.sealed) {
    logger.warn("vault sealed: run `aixcl vault unseal`");
  }
  const url = config.database.url;
  const managed =
    config.database.managed && url !== undefined ? createManagedPassword({ vault, url, logger }) : undefined;
  await managed?.prepare();
  return {
    vault,
    databasePassword: managed ? () => managed.get() : undefined,
    async attach(db) {
      if (db && managed) bindManagedPassword(db, managed);
      await ensurePlatformSecrets(vault, db, logger);
    },
    close: () => vault.close(),
  };
}

/**
 * `database.url` with the managed role's current password from the vault (what `aixcl vault
 * credentials` shows); undefined unless `database.managed` is set with a URL.
 */
export async function managedDatabaseUrl(
  config: Readonly<Config>,
  vault: Vault,
): Promise<string | undefined> {
  if (!config.database.managed || config.database.url === undefined) return undefined;
  const url = new URL(config.database.url);
  const password = await vault.get(DATABASE_PASSWORD);
  if (password !== undefined) url.password = encodeURIComponent(password);
  return url.href;
}
