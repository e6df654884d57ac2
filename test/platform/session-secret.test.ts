/**
 * The server's copy of the session secret (src/platform/secrets.ts, sessionSecretCache) over a
 * real vault: read from the vault once, then from memory; refused like the vault while sealed,
 * read again after an unseal; replaced by a rotation.
 */
import { mkdtemp, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { SESSION_SECRET, sessionSecretCache } from "../../src/platform/secrets.js";
import { createVault } from "../../src/vault/vault.js";
import { rejectedAppError } from "../support/app-error.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-session-secret-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("reads the vault once, answers vault_sealed while sealed, reads again after an unseal, takes a rotation's secret", async () => {
  const vault = createVault({ dir: join(dir, "vault"), logger: silentLogger() });
  await vault.init({ mode: "keyfile" });
  await vault.set(SESSION_SECRET, "first-secret-0123456789");
  const cache = sessionSecretCache(vault);
  expect(await cache.read()).toBe("first-secret-0123456789");
  // Gone from the disk, still known: the second read did not go to the vault.
  await unlink(join(dir, "vault", "entries", `${SESSION_SECRET}.json`));
  expect(await cache.read()).toBe("first-secret-0123456789");

  vault.seal();
  expect((await rejectedAppError(cache.read())).code).toBe("vault_sealed");
  await vault.unseal();
  // Forgotten while sealed: read from the vault again (where the entry no longer is).
  expect(await cache.read()).toBeUndefined();

  await vault.set(SESSION_SECRET, "second-secret-0123456789");
  cache.replace("second-secret-0123456789");
  expect(await cache.read()).toBe("second-secret-0123456789");
  await vault.close();
});
