/**
 * The vault's cryptography: AES-256-GCM with a fresh random 96-bit nonce per encryption, and
 * argon2id to turn a passphrase into a key-wrapping key. Everything that binds a ciphertext to
 * its place (entry name, format version, KDF parameters) goes into the AAD, so a ciphertext moved
 * to another place fails authentication instead of decrypting as something else.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { hashRaw } from "@node-rs/argon2";

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** One AES-GCM ciphertext as stored in JSON (base64 fields). */
export interface SealedBox {
  nonce: string;
  ciphertext: string;
  tag: string;
}

/** A fresh random key (the master key). */
export function randomKey(): Buffer {
  return randomBytes(KEY_BYTES);
}

export function encrypt(key: Buffer, plaintext: Buffer, aad: Buffer): SealedBox {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    nonce: nonce.toString("base64"),
    ciphertext: ciphertext.toString("base64"),
    tag: cipher.getAuthTag().toString("base64"),
  };
}

/**
 * Decodes base64 strictly: Node's decoder skips characters outside the alphabet and ignores the
 * spare bits of the last character, so two different strings can decode to the same bytes. A
 * flipped bit must never go unnoticed, so only the canonical encoding is accepted.
 */
function strictBase64(text: unknown, length?: number): Buffer | undefined {
  if (typeof text !== "string") return undefined;
  const bytes = Buffer.from(text, "base64");
  if (bytes.toString("base64") !== text) return undefined;
  if (length !== undefined && bytes.length !== length) return undefined;
  return bytes;
}

/** True when `value` has exactly the shape of a SealedBox with canonical base64 fields. */
export function isSealedBox(value: unknown): value is SealedBox {
  if (typeof value !== "object" || value === null) return false;
  const box = value as Record<string, unknown>;
  return (
    Object.keys(box).length === 3 &&
    strictBase64(box.nonce, NONCE_BYTES) !== undefined &&
    strictBase64(box.ciphertext) !== undefined &&
    strictBase64(box.tag, TAG_BYTES) !== undefined
  );
}

/** The plaintext, or undefined when authentication fails (wrong key, tampered box or AAD). */
export function decrypt(key: Buffer, box: SealedBox, aad: Buffer): Buffer | undefined {
  const nonce = strictBase64(box.nonce, NONCE_BYTES);
  const ciphertext = strictBase64(box.ciphertext);
  const tag = strictBase64(box.tag, TAG_BYTES);
  if (!nonce || !ciphertext || !tag) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}

/** argon2id parameters of a passphrase vault, stored in meta.json. */
export interface KdfParams {
  algorithm: "argon2id";
  /** Memory, KiB. Default 65536 (64 MiB). */
  memory: number;
  /** Passes. Default 3. */
  passes: number;
  parallelism: number;
  /** 16 random bytes, base64. */
  salt: string;
}

const MIN_KDF_MEMORY = 64 * 1024;
const MIN_KDF_PASSES = 3;

export function newKdfParams(): KdfParams {
  return {
    algorithm: "argon2id",
    memory: MIN_KDF_MEMORY,
    passes: MIN_KDF_PASSES,
    parallelism: 1,
    salt: randomBytes(16).toString("base64"),
  };
}

/** True when `value` is a KdfParams no weaker than the minimum (a file cannot weaken the KDF). */
export function isKdfParams(value: unknown): value is KdfParams {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Record<string, unknown>;
  const int = (v: unknown, min: number, max: number) =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
  return (
    p.algorithm === "argon2id" &&
    int(p.memory, MIN_KDF_MEMORY, 4 * 1024 * 1024) &&
    int(p.passes, MIN_KDF_PASSES, 100) &&
    int(p.parallelism, 1, 16) &&
    strictBase64(p.salt, 16) !== undefined
  );
}

/** The key-wrapping key of a passphrase. */
export async function deriveKey(passphrase: string, params: KdfParams): Promise<Buffer> {
  return hashRaw(passphrase, {
    // Algorithm.Argon2id: the package's enum is `const` and cannot be imported under isolatedModules.
    algorithm: 2,
    memoryCost: params.memory,
    timeCost: params.passes,
    parallelism: params.parallelism,
    outputLen: KEY_BYTES,
    salt: Buffer.from(params.salt, "base64"),
  });
}
