import { randomBytes } from "node:crypto";
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../src/logger.js";
import { createVault } from "../../src/vault/vault.js";
import type { Vault } from "../../src/vault/types.js";
import { rejectedAppError } from "../support/app-error.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "aixcl-vault-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let count = 0;
function newVault(): Vault {
  count += 1;
  return createVault({ dir: join(root, `v${count}`), logger: silentLogger() });
}

/** Every file and directory under `dir` with its permission bits. */
async function modes(dir: string): Promise<{ path: string; mode: number; dir: boolean }[]> {
  const out: { path: string; mode: number; dir: boolean }[] = [];
  const info = await stat(dir);
  out.push({ path: dir, mode: info.mode & 0o777, dir: true });
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    const entry = await stat(path);
    if (entry.isDirectory()) out.push(...(await modes(path)));
    else out.push({ path, mode: entry.mode & 0o777, dir: false });
  }
  return out;
}

/** True when `needle` (or its base64/hex spelling) occurs in any file under `dir`. */
async function dirContains(dir: string, needle: string): Promise<boolean> {
  const forms = [needle, Buffer.from(needle).toString("base64"), Buffer.from(needle).toString("hex")].map(
    (s) => Buffer.from(s),
  );
  for (const name of await readdir(dir, { recursive: true })) {
    const path = join(dir, name);
    if ((await stat(path)).isDirectory()) continue;
    const bytes = await readFile(path);
    if (forms.some((form) => bytes.includes(form))) return true;
  }
  return false;
}

describe("vault in keyfile mode", () => {
  it("round-trips values, lists and deletes entries, and auto-unseals on the next open", async () => {
    const vault = newVault();
    expect(vault.status()).toEqual({ initialized: false, sealed: true, mode: undefined, entries: 0 });
    expect((await rejectedAppError(vault.get("a"))).code).toBe("vault_sealed");

    await vault.init({ mode: "keyfile" });
    expect(vault.status()).toEqual({ initialized: true, sealed: false, mode: "keyfile", entries: 0 });
    const value = `ünïcødé ✓ ${randomBytes(24).toString("base64")}\n"quoted"`;
    await vault.set("session.secret", value);
    await vault.set("admin.password", "first");
    await vault.set("admin.password", "second");
    expect(await vault.get("session.secret")).toBe(value);
    expect(await vault.get("admin.password")).toBe("second");
    expect(await vault.get("missing")).toBeUndefined();
    expect(await vault.list()).toEqual(["admin.password", "session.secret"]);
    expect(vault.status().entries).toBe(2);

    // A second process (a restart, the CLI) opening the same directory is unsealed by the key file.
    const again = createVault({ dir: vault.dir, logger: silentLogger() });
    expect(again.status()).toEqual({ initialized: true, sealed: false, mode: "keyfile", entries: 2 });
    expect(await again.get("session.secret")).toBe(value);

    expect(await vault.delete("admin.password")).toBe(true);
    expect(await vault.delete("admin.password")).toBe(false);
    expect(await again.get("admin.password")).toBeUndefined();

    expect((await rejectedAppError(vault.init({ mode: "keyfile" }))).code).toBe("conflict");
    await again.close();
    await vault.close();
    await vault.close();
    expect((await rejectedAppError(vault.get("session.secret"))).code).toBe("vault_sealed");
  });

  it("uses a fresh nonce per write: the same value twice gives different files", async () => {
    const vault = newVault();
    await vault.init({ mode: "keyfile" });
    await vault.set("a", "same");
    const first = await readFile(join(vault.dir, "entries", "a.json"), "utf8");
    await vault.set("a", "same");
    const second = await readFile(join(vault.dir, "entries", "a.json"), "utf8");
    expect(second).not.toBe(first);
    expect(await vault.get("a")).toBe("same");
  });

  it("keeps files 0600 in 0700 directories and the key file holds 32 bytes", async () => {
    const vault = newVault();
    await vault.init({ mode: "keyfile" });
    await vault.set("x", "y");
    await vault.set("z", "w");
    const all = await modes(vault.dir);
    expect(all.filter((e) => e.dir).map((e) => e.mode)).toEqual([0o700, 0o700]);
    const files = all.filter((e) => !e.dir);
    expect(files.map((e) => e.path.slice(vault.dir.length)).sort()).toEqual([
      "/entries/x.json",
      "/entries/z.json",
      "/key",
      "/meta.json",
    ]);
    for (const file of files) expect(file.mode, file.path).toBe(0o600);
    expect((await readFile(join(vault.dir, "key"))).length).toBe(32);
  });

  it("a directory that exists with a wider mode is narrowed to 0700", async () => {
    const vault = newVault();
    await mkdir(vault.dir, { mode: 0o755 });
    await chmod(vault.dir, 0o755);
    await vault.init({ mode: "keyfile" });
    expect((await stat(vault.dir)).mode & 0o777).toBe(0o700);
  });

  it("rejects invalid entry names before touching the disk", async () => {
    const vault = newVault();
    await vault.init({ mode: "keyfile" });
    for (const name of ["", "../x", "a/b", "Upper", "a b", "x".repeat(65), "ä"]) {
      expect((await rejectedAppError(vault.set(name, "v"))).code, name).toBe("invalid_request");
      expect((await rejectedAppError(vault.get(name))).code, name).toBe("invalid_request");
    }
    expect(await vault.list()).toEqual([]);
  });

  it("flipping any single bit of an entry file fails its integrity check; other entries stay readable", async () => {
    const vault = newVault();
    await vault.init({ mode: "keyfile" });
    await vault.set("victim", "the secret value");
    await vault.set("bystander", "still fine");
    const path = join(vault.dir, "entries", "victim.json");
    const original = await readFile(path);
    for (let bit = 0; bit < original.length * 8; bit++) {
      const flipped = Buffer.from(original);
      flipped[bit >> 3] = (flipped[bit >> 3] ?? 0) ^ (1 << (bit & 7));
      await writeFile(path, flipped);
      const error = await rejectedAppError(vault.get("victim"));
      expect(error.code, `bit ${bit}`).toBe("integrity_check_failed");
      expect(error.message).toBe("integrity check failed: victim");
      expect(error.message).not.toContain("the secret value");
    }
    expect(await vault.get("bystander")).toBe("still fine");
    await writeFile(path, original);
    expect(await vault.get("victim")).toBe("the secret value");
  });

  it("a renamed or swapped entry file fails authentication (the name is authenticated)", async () => {
    const vault = newVault();
    await vault.init({ mode: "keyfile" });
    await vault.set("a", "value of a");
    await vault.set("b", "value of b");
    const entries = join(vault.dir, "entries");
    await copyFile(join(entries, "a.json"), join(entries, "b.json"));
    expect((await rejectedAppError(vault.get("b"))).message).toBe("integrity check failed: b");
    expect(await vault.get("a")).toBe("value of a");
    await rename(join(entries, "a.json"), join(entries, "c.json"));
    expect((await rejectedAppError(vault.get("c"))).code).toBe("integrity_check_failed");
    expect(await vault.get("a")).toBeUndefined();
  });

  it("a key file that does not match leaves the vault sealed and unseal reports it", async () => {
    const vault = newVault();
    await vault.init({ mode: "keyfile" });
    await vault.set("a", "value");
    await writeFile(join(vault.dir, "key"), randomBytes(32), { mode: 0o600 });
    const reopened = createVault({ dir: vault.dir, logger: silentLogger() });
    expect(reopened.status().sealed).toBe(true);
    expect((await rejectedAppError(reopened.get("a"))).code).toBe("vault_sealed");
    const error = await rejectedAppError(reopened.unseal());
    expect(error.code).toBe("integrity_check_failed");
    await rm(join(vault.dir, "key"));
    expect((await rejectedAppError(reopened.unseal())).code).toBe("vault_sealed");
  });

  it("stores no value in plaintext, base64 or hex anywhere in the vault directory", async () => {
    const vault = newVault();
    await vault.init({ mode: "keyfile" });
    const secret = `needle-${randomBytes(12).toString("hex")}`;
    await vault.set("needle", secret);
    expect(await vault.get("needle")).toBe(secret);
    expect(await dirContains(vault.dir, secret)).toBe(false);
    expect(await dirContains(vault.dir, "needle-")).toBe(false);
  });
});

describe("vault in passphrase mode", () => {
  const passphrase = "correct horse battery staple";
  let dir: string;

  beforeAll(async () => {
    const vault = newVault();
    dir = vault.dir;
    expect((await rejectedAppError(vault.init({ mode: "passphrase", passphrase: "short" }))).code).toBe(
      "invalid_request",
    );
    await vault.init({ mode: "passphrase", passphrase });
    await vault.set("db", "postgres secret");
    await vault.close();
  });

  it("starts sealed: no key file exists, values need the passphrase", async () => {
    const vault = createVault({ dir, logger: silentLogger() });
    expect(vault.status()).toEqual({ initialized: true, sealed: true, mode: "passphrase", entries: 1 });
    await expect(stat(join(dir, "key"))).rejects.toMatchObject({ code: "ENOENT" });
    const error = await rejectedAppError(vault.get("db"));
    expect(error.code).toBe("vault_sealed");
    expect(error.status).toBe(503);
    expect(error.message).toBe("vault sealed");
    expect((await rejectedAppError(vault.set("db", "x"))).code).toBe("vault_sealed");
    expect(await vault.list()).toEqual(["db"]);
  });

  it("refuses a wrong passphrase as such, unseals with the right one, seals again", async () => {
    const vault = createVault({ dir, logger: silentLogger() });
    const wrong = await rejectedAppError(vault.unseal("not the passphrase"));
    expect(wrong.code).toBe("unauthorized");
    expect(wrong.message).toBe("wrong passphrase");
    expect((await rejectedAppError(vault.unseal())).code).toBe("invalid_request");
    expect(vault.status().sealed).toBe(true);

    await vault.unseal(passphrase);
    expect(vault.status().sealed).toBe(false);
    expect(await vault.get("db")).toBe("postgres secret");
    await vault.set("other", "v");

    vault.seal();
    expect(vault.status().sealed).toBe(true);
    expect((await rejectedAppError(vault.get("db"))).code).toBe("vault_sealed");
    await vault.delete("other");
    await vault.close();
  });

  it("uses argon2id with at least 64 MiB and 3 passes, and a weakened or edited KDF is refused", async () => {
    const metaPath = join(dir, "meta.json");
    const original = await readFile(metaPath, "utf8");
    const meta = JSON.parse(original) as { kdf: { algorithm: string; memory: number; passes: number } };
    expect(meta.kdf.algorithm).toBe("argon2id");
    expect(meta.kdf.memory).toBeGreaterThanOrEqual(64 * 1024);
    expect(meta.kdf.passes).toBeGreaterThanOrEqual(3);
    expect(original).not.toContain(passphrase);
    try {
      await writeFile(metaPath, JSON.stringify({ ...meta, kdf: { ...meta.kdf, memory: 1024 } }));
      const weakened = createVault({ dir, logger: silentLogger() });
      expect((await rejectedAppError(weakened.unseal(passphrase))).code).toBe("integrity_check_failed");
      // Stronger parameters are well-formed, but they are authenticated with the wrapped key.
      await writeFile(metaPath, JSON.stringify({ ...meta, kdf: { ...meta.kdf, passes: 4 } }));
      const edited = createVault({ dir, logger: silentLogger() });
      expect((await rejectedAppError(edited.unseal(passphrase))).code).toBe("unauthorized");
    } finally {
      await writeFile(metaPath, original, { mode: 0o600 });
    }
  });
});
