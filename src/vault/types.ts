/**
 * The secrets vault: small named secrets (session secret, admin password, database password)
 * encrypted at rest with AES-256-GCM under one master key. The vault is either unsealed (the key
 * is in memory) or sealed (it is not: anything needing a secret answers `503 vault sealed`).
 */

/**
 * How the master key is unsealed, chosen at `init`:
 * - `keyfile`: the key sits in `vault/key` (0600) and is read at start (auto-unseal);
 * - `passphrase`: the key is wrapped under an argon2id key of a passphrase; the vault starts
 *   sealed until `aixcl vault unseal`.
 */
export type VaultMode = "keyfile" | "passphrase";

export interface VaultStatus {
  /** Whether `init` has run (the vault's metadata exists). */
  initialized: boolean;
  /** Whether the master key is absent from memory (always true before init). */
  sealed: boolean;
  /** The unseal mode chosen at init; undefined before init. */
  mode: VaultMode | undefined;
  /** Number of stored entries (readable even while sealed: names are not secret). */
  entries: number;
}

export interface VaultInitOptions {
  mode: VaultMode;
  /** Required with mode `passphrase`: at least 8 characters. */
  passphrase?: string;
}

export interface Vault {
  /** Where the vault lives (0700). */
  readonly dir: string;
  status(): VaultStatus;
  /** Whether the master key is absent from memory (status().sealed without its file reads). */
  readonly sealed: boolean;
  /**
   * Creates the master key and the metadata, and leaves the vault unsealed. Throws `conflict`
   * when the vault is already initialized.
   */
  init(options: VaultInitOptions): Promise<void>;
  /**
   * Loads the master key: from the key file (keyfile mode; `passphrase` ignored) or by deriving
   * the wrapping key from `passphrase`. A wrong passphrase throws `unauthorized` ("wrong
   * passphrase"); a key file that does not match throws `integrity_check_failed`.
   */
  unseal(passphrase?: string): Promise<void>;
  /** Drops the master key from memory (zeroed). Idempotent. */
  seal(): void;
  /**
   * The entry's value, or undefined when there is none. Throws `vault_sealed` while sealed and
   * `integrity_check_failed` when the entry's file fails authentication.
   */
  get(name: string): Promise<string | undefined>;
  /** Stores (replaces) an entry atomically. Throws `vault_sealed` while sealed. */
  set(name: string, value: string): Promise<void>;
  /** Removes an entry; true when it existed. Works while sealed (removal needs no key). */
  delete(name: string): Promise<boolean>;
  /** Names of the stored entries, sorted. Works while sealed. */
  list(): Promise<string[]>;
  /** Seals and refuses further use. Idempotent. */
  close(): Promise<void>;
}

/** Entry names: lower-case letters, digits, `.`, `_`, `-`; 1 to 64 characters. */
export const ENTRY_NAME = /^[a-z0-9._-]{1,64}$/;
