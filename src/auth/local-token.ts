/**
 * The local CLI token: a random secret a running server writes to `$AIXCL_HOME/run/admin.token`
 * (0600, in a 0700 dir) so the `aixcl` CLI of the same OS user can call the admin API, the way
 * the Docker socket's permissions grant `docker` access. Whoever can read the file already owns
 * the home directory (database, vault files), so the token grants nothing new.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";

export interface LocalToken {
  /** Whether a presented bearer value is this token (constant time). */
  matches(presented: string): boolean;
  /** Deletes the file if it still holds this token (another server may have replaced it). Idempotent. */
  close(): Promise<void>;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Writes a fresh token (32 random bytes, base64url) to `path` atomically: a temp file created
 * 0600 with O_EXCL, fsynced, then renamed, so a reader sees the old token or the new, never half.
 */
export async function createLocalToken(path: string): Promise<LocalToken> {
  const token = randomBytes(32).toString("base64url");
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(temp, "wx", 0o600);
  try {
    await handle.writeFile(token, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }

  const expected = digest(token);
  let closed: Promise<void> | undefined;
  return {
    matches: (presented) => timingSafeEqual(digest(presented), expected),
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
