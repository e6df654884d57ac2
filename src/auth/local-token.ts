/**
 * The local CLI token: a random secret a running server writes to `$AIXCL_HOME/run/admin.token`
 * (0600, in a 0700 dir) so the `aixcl` CLI of the same OS user can call the admin API, the way
 * the Docker socket's permissions grant `docker` access. Whoever can read the file already owns
 * the home directory (database, vault files), so the token grants nothing new.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileAtomic } from "../lib/files.js";

export interface LocalToken {
  /** Whether a presented bearer value is this token (constant time). */
  matches(presented: string): boolean;
  /** Answers the CLI's identity challenge for a request received on `port` (see identityProof). */
  prove(challenge: string, port: number): string;
  /** Deletes the file if it still holds this token (another server may have replaced it). Idempotent. */
  close(): Promise<void>;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/** Writes `text` to `path` atomically (0600, see src/lib/files.ts), its directory (run/) 0700. */
export async function writeRunFile(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileAtomic(path, text);
}

/**
 * The answer to an identity challenge: HMAC-SHA256 keyed by the token over the challenge and the
 * port the server was reached on, so a listener that relays the challenge to the real server
 * from another port gets an answer the CLI rejects. The token itself never goes on the wire.
 */
function identityProof(token: string, challenge: string, port: number): string {
  return createHmac("sha256", token)
    .update(`aixcl-server-identity/1\nport=${port}\nchallenge=${challenge}`, "utf8")
    .digest("base64url");
}

/** Whether `proof` answers `challenge` for `token` at `port` (constant time). */
export function checkIdentityProof(token: string, challenge: string, port: number, proof: string): boolean {
  return timingSafeEqual(digest(identityProof(token, challenge, port)), digest(proof));
}

/** Writes a fresh token (32 random bytes, base64url) to `path` with writeRunFile. */
export async function createLocalToken(path: string): Promise<LocalToken> {
  const token = randomBytes(32).toString("base64url");
  await writeRunFile(path, token);

  const expected = digest(token);
  let closed: Promise<void> | undefined;
  return {
    matches: (presented) => timingSafeEqual(digest(presented), expected),
    prove: (challenge, port) => identityProof(token, challenge, port),
    close() {
      closed ??= (async () => {
        const current = await readLocalToken(path);
        if (current === token) await rm(path, { force: true });
      })();
      return closed;
    },
  };
}

/** The token a running server wrote, or undefined when there is none (or it cannot be read). */
export async function readLocalToken(path: string): Promise<string | undefined> {
  try {
    const text = (await readFile(path, "utf8")).trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}
