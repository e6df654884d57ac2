/**
 * The vault on disk:
 *
 *   vault/            0700
 *     meta.json       0600  mode, key check (keyfile) or KDF parameters + wrapped key (passphrase)
 *     key             0600  the master key (keyfile mode only)
 *     entries/        0700
 *       <name>.json   0600  {"version":1,"nonce","ciphertext","tag"} (base64)
 *
 * One file per entry, so a damaged entry never takes the others with it. Each value is
 * encrypted under the master key with AES-256-GCM and a fresh nonce; the AAD names the entry and
 * the format version, so a file renamed or swapped with another fails authentication. Values are
 * read from disk on every get (nothing decrypted is cached), so a value written by another aixcl
 * process (the CLI) is seen at once.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import {
  decrypt,
  deriveKey,
  encrypt,
  isKdfParams,
  isSealedBox,
  KEY_BYTES,
  newKdfParams,
  randomKey,
  type KdfParams,
  type SealedBox,
} from "./crypto.js";
import { isNotFound, writeFileAtomic } from "../lib/files.js";
import { ensurePrivateDir, readIfExists, removeFile, removeStaleTemps } from "./files.js";
import { ENTRY_NAME, type Vault, type VaultInitOptions, type VaultMode, type VaultStatus } from "./types.js";

export interface CreateVaultOptions {
  /** The vault directory (`vaultPath(config)`); created 0700 at init. */
  dir: string;
  logger: Logger;
}

const FORMAT = 1;
const MIN_PASSPHRASE = 8;
/** Largest value stored, bytes: vault entries are credentials, not documents. */
const MAX_VALUE_BYTES = 64 * 1024;
const CHECK_PLAINTEXT = Buffer.from("aixcl vault key check");
/** Temp files younger than this may belong to another process's write in progress. */
const STALE_TEMP_MS = 60_000;

type Meta =
  | { format: 1; mode: "keyfile"; check: SealedBox }
  | { format: 1; mode: "passphrase"; kdf: KdfParams; wrapped: SealedBox };

const aad = (...parts: string[]) => Buffer.from(["aixcl-vault", `v${FORMAT}`, ...parts].join("\0"));
const entryAad = (name: string) => aad("entry", name);
const checkAad = () => aad("check");
// The KDF parameters are authenticated with the wrapped key: editing them fails the unwrap.
const wrapAad = (kdf: KdfParams) => aad("wrap", JSON.stringify(kdf));

function integrityError(what: string): AppError {
  return new AppError("integrity_check_failed", `integrity check failed: ${what}`);
}

function checkName(name: string): void {
  if (!ENTRY_NAME.test(name)) {
    throw new AppError("invalid_request", "invalid vault entry name: use a-z, 0-9, '.', '_', '-' (1-64)");
  }
}

function parseMeta(text: string): Meta {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw integrityError("vault metadata");
  }
  const meta = value as Record<string, unknown> | null;
  if (typeof meta === "object" && meta !== null && meta.format === FORMAT) {
    if (meta.mode === "keyfile" && isSealedBox(meta.check)) return meta as Meta;
    if (meta.mode === "passphrase" && isKdfParams(meta.kdf) && isSealedBox(meta.wrapped)) return meta as Meta;
  }
  throw integrityError("vault metadata");
}

/** An entry file's exact bytes for a box: reads compare against it, so no byte can vary unnoticed. */
function serializeEntry(box: SealedBox): string {
  return `${JSON.stringify({ version: FORMAT, nonce: box.nonce, ciphertext: box.ciphertext, tag: box.tag })}\n`;
}

function parseEntry(name: string, bytes: Buffer): SealedBox {
  const text = bytes.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw integrityError(name);
  }
  const entry = value as Record<string, unknown> | null;
  if (typeof entry !== "object" || entry === null || entry.version !== FORMAT) throw integrityError(name);
  const box = { nonce: entry.nonce, ciphertext: entry.ciphertext, tag: entry.tag };
  if (!isSealedBox(box) || serializeEntry(box) !== text) throw integrityError(name);
  return box;
}

export function createVault(options: CreateVaultOptions): Vault {
  const { dir, logger } = options;
  const metaPath = join(dir, "meta.json");
  const keyPath = join(dir, "key");
  const entriesDir = join(dir, "entries");
  const entryPath = (name: string) => join(entriesDir, `${name}.json`);

  let key: Buffer | undefined;
  let closed = false;

  function readMetaSync(): Meta | undefined {
    let text: string;
    try {
      text = readFileSync(metaPath, "utf8");
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    return parseMeta(text);
  }

  function requireMeta(): Meta {
    const meta = readMetaSync();
    if (!meta) throw new AppError("conflict", "vault not initialized (run `aixcl vault init`)");
    return meta;
  }

  function entryNames(): string[] {
    let files: string[];
    try {
      files = readdirSync(entriesDir);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const names: string[] = [];
    for (const file of files) {
      if (!file.endsWith(".json")) continue;
      const name = file.slice(0, -".json".length);
      if (ENTRY_NAME.test(name)) names.push(name);
    }
    return names.sort();
  }

  function requireKey(): Buffer {
    if (key) return key;
    if (closed) throw new AppError("vault_sealed", "vault sealed");
    // Checked after the key: an unsealed vault is initialized by definition.
    if (!readMetaSync())
      throw new AppError("vault_sealed", "vault sealed: not initialized (run `aixcl vault init`)");
    throw new AppError("vault_sealed", "vault sealed");
  }

  function checkKeyFile(bytes: Buffer | undefined, meta: Meta & { mode: "keyfile" }): Buffer {
    if (!bytes) throw new AppError("vault_sealed", "vault sealed: the key file is missing");
    if (bytes.length !== KEY_BYTES || !decrypt(bytes, meta.check, checkAad())?.equals(CHECK_PLAINTEXT)) {
      throw integrityError("the key file does not match the vault");
    }
    return bytes;
  }

  // Key file mode unseals at creation: a server restart needs no operator.
  try {
    const meta = readMetaSync();
    if (meta?.mode === "keyfile") {
      let bytes: Buffer | undefined;
      try {
        bytes = readFileSync(keyPath);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      key = checkKeyFile(bytes, meta);
    }
    if (meta) {
      removeStaleTemps(dir, STALE_TEMP_MS);
      removeStaleTemps(entriesDir, STALE_TEMP_MS);
    }
  } catch (error) {
    logger.warn({ code: (error as AppError).code, reason: (error as Error).message }, "vault stays sealed");
  }

  const vault: Vault = {
    dir,

    get sealed() {
      return key === undefined;
    },

    status(): VaultStatus {
      let mode: VaultMode | undefined;
      let initialized: boolean;
      try {
        const meta = readMetaSync();
        initialized = meta !== undefined;
        mode = meta?.mode;
      } catch {
        // Damaged metadata: initialized, but unusable until restored.
        initialized = true;
      }
      return { initialized, sealed: key === undefined, mode, entries: entryNames().length };
    },

    async init(init: VaultInitOptions) {
      if (closed) throw new AppError("vault_sealed", "vault closed");
      if (existsSync(metaPath)) throw new AppError("conflict", "vault already initialized");
      const master = randomKey();
      let meta: Meta;
      if (init.mode === "passphrase") {
        const passphrase = init.passphrase ?? "";
        if (passphrase.length < MIN_PASSPHRASE) {
          throw new AppError(
            "invalid_request",
            `the passphrase must be at least ${MIN_PASSPHRASE} characters`,
          );
        }
        const kdf = newKdfParams();
        const wrapping = await deriveKey(passphrase, kdf);
        meta = { format: FORMAT, mode: "passphrase", kdf, wrapped: encrypt(wrapping, master, wrapAad(kdf)) };
        wrapping.fill(0);
      } else {
        meta = { format: FORMAT, mode: "keyfile", check: encrypt(master, CHECK_PLAINTEXT, checkAad()) };
      }
      ensurePrivateDir(dir);
      ensurePrivateDir(entriesDir);
      // The key file first: metadata is what marks the vault initialized, so a crash in between
      // leaves an uninitialized vault that init can simply redo.
      if (meta.mode === "keyfile") await writeFileAtomic(keyPath, master);
      await writeFileAtomic(metaPath, `${JSON.stringify(meta, null, 2)}\n`);
      key?.fill(0);
      key = master;
      logger.info({ mode: meta.mode }, "vault initialized");
    },

    async unseal(passphrase?: string) {
      if (closed) throw new AppError("vault_sealed", "vault closed");
      const meta = requireMeta();
      let master: Buffer;
      if (meta.mode === "keyfile") {
        master = checkKeyFile(await readIfExists(keyPath), meta);
      } else {
        if (passphrase === undefined || passphrase === "") {
          throw new AppError("invalid_request", "a passphrase is required to unseal this vault");
        }
        const wrapping = await deriveKey(passphrase, meta.kdf);
        const unwrapped = decrypt(wrapping, meta.wrapped, wrapAad(meta.kdf));
        wrapping.fill(0);
        if (!unwrapped || unwrapped.length !== KEY_BYTES)
          throw new AppError("unauthorized", "wrong passphrase");
        master = unwrapped;
      }
      if (closed) {
        master.fill(0);
        throw new AppError("vault_sealed", "vault closed");
      }
      key?.fill(0);
      key = master;
      logger.info({ mode: meta.mode }, "vault unsealed");
    },

    seal() {
      if (!key) return;
      key.fill(0);
      key = undefined;
      logger.info("vault sealed");
    },

    async get(name) {
      checkName(name);
      const master = requireKey();
      const bytes = await readIfExists(entryPath(name));
      if (!bytes) return undefined;
      const plain = decrypt(master, parseEntry(name, bytes), entryAad(name));
      if (!plain) throw integrityError(name);
      return plain.toString("utf8");
    },

    async set(name, value) {
      checkName(name);
      if (Buffer.byteLength(value, "utf8") > MAX_VALUE_BYTES) {
        throw new AppError("invalid_request", `vault values are limited to ${MAX_VALUE_BYTES} bytes`);
      }
      const master = requireKey();
      ensurePrivateDir(entriesDir);
      const box = encrypt(master, Buffer.from(value, "utf8"), entryAad(name));
      await writeFileAtomic(entryPath(name), serializeEntry(box));
    },

    async delete(name) {
      checkName(name);
      if (closed) throw new AppError("vault_sealed", "vault closed");
      return removeFile(entryPath(name));
    },

    async list() {
      return entryNames();
    },

    async close() {
      vault.seal();
      closed = true;
    },
  };
  return vault;
}
