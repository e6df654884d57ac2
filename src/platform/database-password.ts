/**
 * The password of a PostgreSQL role aixcl manages (`database.managed: true`): kept in the vault
 * as `database.password` and handed to the pool as a function, so every new connection
 * authenticates with the current value and a rotation needs no restart. Connections already open
 * keep running: PostgreSQL checks a password only when a connection starts.
 */
import { randomBytes } from "node:crypto";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Database, Queryable } from "../store/types.js";
import type { Vault } from "../vault/types.js";

/** Vault entry of the managed role's current password. */
export const DATABASE_PASSWORD = "database.password";
/**
 * A password being installed: written before `ALTER ROLE` so that a crash between the server
 * accepting it and the vault recording it never loses the only copy.
 */
const DATABASE_PASSWORD_NEXT = "database.password.next";

export interface ManagedPassword {
  /**
   * The password for a new connection (the pool's `password` option). While a rotation is
   * switching passwords it waits for the switch, so no connection starts with a stale one.
   */
  get(): Promise<string>;
  /**
   * Stores the URL's password as the vault's value when the vault has none yet (first start),
   * and settles a rotation a crash interrupted. Call before opening the database.
   */
  prepare(): Promise<void>;
  /** Sets a new random password on the server and in the vault; new connections use it. */
  rotate(db: Database): Promise<void>;
}

export interface ManagedPasswordOptions {
  vault: Vault;
  /** `database.url`: its password is the starting value (and the one used while sealed). */
  url: string;
  logger: Logger;
  /**
   * Tries a password on the server (true when it authenticates): settles an interrupted rotation.
   * Default: a one-off connection to `url` with that password.
   */
  tryPassword?: (password: string) => Promise<boolean>;
}

/** A new role password: 32 random bytes, base64url (no character needs quoting anywhere). */
function newDatabasePassword(): string {
  return randomBytes(32).toString("base64url");
}

async function tryConnect(url: string, password: string): Promise<boolean> {
  const { default: pg } = await import("pg");
  // In the URL, not as the `password` option: node-postgres lets the connection string's
  // password (even an empty one) override that option.
  const withPassword = new URL(url);
  withPassword.password = encodeURIComponent(password);
  const client = new pg.Client({ connectionString: withPassword.href });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return true;
  } catch (error) {
    // 28P01: invalid_password. Anything else (server down) says nothing about the password.
    if ((error as { code?: unknown }).code === "28P01") return false;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Builds `ALTER ROLE <current_user> PASSWORD '<new>'` on the server with format(): utility
 * statements take no parameters, and %I / %L quote the identifier and the literal safely.
 */
async function alterOwnPassword(db: Queryable, password: string): Promise<void> {
  const { rows } = await db.query<{ sql: string }>(
    "SELECT format('ALTER ROLE %I PASSWORD %L', current_user, $1::text) AS sql",
    [password],
  );
  const sql = rows[0]?.sql;
  if (sql === undefined) throw new AppError("database_error", "format() returned no statement");
  await db.query(sql);
}

export function createManagedPassword(options: ManagedPasswordOptions): ManagedPassword {
  const { vault, logger } = options;
  const urlPassword = decodeURIComponent(new URL(options.url).password);
  const tryPassword = options.tryPassword ?? ((password: string) => tryConnect(options.url, password));
  let switching: Promise<void> | undefined;

  const current = async (): Promise<string> => {
    // Sealed (passphrase mode before unseal): the URL's password is all there is. It works until
    // the first rotation; after one, connections wait for `aixcl vault unseal`.
    if (vault.sealed) return urlPassword;
    return (await vault.get(DATABASE_PASSWORD)) ?? urlPassword;
  };

  return {
    async get() {
      while (switching) await switching;
      return current();
    },

    async prepare() {
      if (vault.sealed) return;
      const next = await vault.get(DATABASE_PASSWORD_NEXT);
      if (next !== undefined) {
        if (await tryPassword(next)) {
          await vault.set(DATABASE_PASSWORD, next);
          logger.warn("database password: completed a rotation that was interrupted");
        }
        await vault.delete(DATABASE_PASSWORD_NEXT);
      }
      if ((await vault.get(DATABASE_PASSWORD)) === undefined && urlPassword !== "") {
        await vault.set(DATABASE_PASSWORD, urlPassword);
      }
    },

    async rotate(db) {
      if (switching) throw new AppError("conflict", "a database password rotation is already running");
      const next = newDatabasePassword();
      await vault.set(DATABASE_PASSWORD_NEXT, next);
      let open = (): void => undefined;
      try {
        // The connection is taken before new connections are held back: the pool may have to
        // open one for this very transaction, and it must not wait for itself.
        await db.transaction(async (tx) => {
          switching = new Promise<void>((resolve) => (open = resolve));
          await alterOwnPassword(tx, next);
        });
        await vault.set(DATABASE_PASSWORD, next);
      } finally {
        switching = undefined;
        open();
      }
      await vault.delete(DATABASE_PASSWORD_NEXT);
      logger.info("database password rotated");
    },
  };
}

const bound = new WeakMap<object, ManagedPassword>();

/** Records which managed password a database's pool uses, for `rotate` to find it. */
export function bindManagedPassword(db: Queryable, password: ManagedPassword): void {
  bound.set(db, password);
}

/** The managed password bound to `db`, if its role is managed. */
export function managedPasswordOf(db: Queryable): ManagedPassword | undefined {
  return bound.get(db);
}
