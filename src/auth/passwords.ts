/**
 * Password hashing: argon2id at (at least) OWASP's minimum, m = 19 MiB, t = 2, p = 1. The length
 * cap is checked before hashing, so a megabyte "password" costs nothing but a comparison.
 */
import { hash, verify, type Options } from "@node-rs/argon2";
import { AppError } from "../errors.js";

/** Shortest password accepted, in characters. */
const MIN_PASSWORD_LENGTH = 8;
/** Longest password accepted, in UTF-8 bytes (checked before any hashing). */
export const MAX_PASSWORD_BYTES = 1024;

const OPTIONS: Options = {
  // Algorithm.Argon2id: the package's const enum cannot be imported under isolatedModules.
  algorithm: 2,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
};

/**
 * A hash of a random password nobody knows, with the same parameters as real ones. Verifying a
 * login for an unknown user against it costs the same time as a wrong password for a real user,
 * so response time does not reveal which usernames exist.
 */
const DUMMY_HASH =
  "$argon2id$v=19$m=19456,t=2,p=1$070aiqlk4ai9rMYu0h1a3w$mW1pud/VxjHHVWFO5oPvxijPkVnlNNDYdvWa8RR5Qwk";

/** Throws `invalid_request` (param `password`) for a password outside the length policy. */
export function checkPasswordPolicy(password: string): void {
  if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) {
    throw new AppError("invalid_request", `password is longer than ${MAX_PASSWORD_BYTES} bytes`, {
      param: "password",
    });
  }
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new AppError("invalid_request", `password must have at least ${MIN_PASSWORD_LENGTH} characters`, {
      param: "password",
    });
  }
}

/** The argon2id hash (PHC string) of a password that passes the policy. */
export async function hashPassword(password: string): Promise<string> {
  checkPasswordPolicy(password);
  return hash(password, OPTIONS);
}

/**
 * Whether `password` matches `passwordHash`; with no hash (unknown user) it spends the same time
 * on the dummy hash and answers false. Over-long input is refused before hashing.
 */
export async function verifyPassword(passwordHash: string | undefined, password: string): Promise<boolean> {
  if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) return false;
  try {
    const ok = await verify(passwordHash ?? DUMMY_HASH, password);
    return ok && passwordHash !== undefined;
  } catch {
    // A malformed stored hash is a wrong password, not a server error that reveals the account.
    return false;
  }
}
