/**
 * API keys on the store, on PGlite and on the real PostgreSQL server: the key is returned once
 * and only its prefix and hash are stored; verification rejects every kind of dead key; revokes
 * are scoped to their owner; injection-looking names and headers stay text.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  createApiKey,
  expandScopes,
  listApiKeys,
  parseScopes,
  revokeApiKey,
  verifyApiKey,
} from "../../src/auth/api-keys.js";
import type { Role } from "../../src/store/roles.js";
import { openPglite } from "../../src/store/pglite.js";
import type { Queryable } from "../../src/store/types.js";
import { rejectedAppError } from "../support/app-error.js";
import { describeEachDatabase } from "../support/databases.js";
import { TEST_PGLITE_BUFFERS_MB } from "../support/pglite-template-build.js";
import { copyPgliteTemplate } from "../support/pglite-template.js";

const KEY_SHAPE = /^aixcl_[0-9A-Za-z]{8}_[0-9A-Za-z]{43}$/;

export const INJECTION_PAYLOADS = [
  "'; DROP TABLE api_keys; --",
  '" OR 1=1 --',
  "x' OR '1'='1",
  "$1",
  "\\'; DELETE FROM users; --",
  "Robert'); DROP TABLE users;--",
  "ключ ✓ 鍵 🔑",
];

let userSeq = 0;
/** A user row made by INSERT (the password hash is never checked by these tests). */
async function insertUser(db: Queryable, role: Role = "user", status = "active"): Promise<string> {
  userSeq += 1;
  const result = await db.query<{ id: string }>(
    "INSERT INTO users (username, password_hash, role, status) VALUES ($1, 'x', $2, $3) RETURNING id",
    [`keys-user-${userSeq}-${Date.now()}`, role, status],
  );
  return result.rows[0]!.id;
}

async function tableNames(db: Queryable): Promise<string[]> {
  const result = await db.query<{ name: string }>(
    "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
  );
  return result.rows.map((row) => row.name);
}

describe("scope helpers", () => {
  it("admin implies every scope; unknown scope names are refused", async () => {
    expect(expandScopes(["admin"])).toEqual(["inference", "models:write", "admin"]);
    expect(expandScopes(["models:write"])).toEqual(["models:write"]);
    expect(parseScopes(["models:write", "inference", "inference"])).toEqual(["inference", "models:write"]);
    expect(() => parseScopes(["root"])).toThrow(expect.objectContaining({ code: "invalid_request" }));
  });
});

describeEachDatabase("api keys", (db) => {
  let alice: string;
  let bob: string;
  let admin: string;

  beforeAll(async () => {
    alice = await insertUser(db());
    bob = await insertUser(db());
    admin = await insertUser(db(), "admin");
  });

  it("returns the key once in aixcl_<prefix>_<secret> form and stores only prefix + SHA-256", async () => {
    const { key, record } = await createApiKey(db(), { userId: alice, name: "laptop" });
    expect(key).toMatch(KEY_SHAPE);
    expect(key.slice(6, 14)).toBe(record.prefix);
    expect(record.scopes).toEqual(["inference"]);
    const secret = key.slice(15);

    const rows = await db().query<{ row: string }>("SELECT row_to_json(k)::text AS row FROM api_keys k");
    const dump = rows.rows.map((r) => r.row).join("\n");
    expect(dump).toContain(record.prefix);
    expect(dump).toContain(createHash("sha256").update(key).digest("hex"));
    expect(dump).not.toContain(secret);

    const listed = JSON.stringify(await listApiKeys(db(), { userId: alice }));
    expect(listed).toContain(record.prefix);
    expect(listed).not.toContain(secret);
    expect(listed).not.toContain(createHash("sha256").update(key).digest("hex"));
    expect(listed).not.toMatch(/hash/i);
  });

  it("verifies a live key into its owner's principal and records the use", async () => {
    const { key, record } = await createApiKey(db(), {
      userId: alice,
      name: "ci",
      scopes: ["inference", "models:write"],
    });
    expect(record.lastUsedAt).toBeNull();
    const principal = await verifyApiKey(db(), key);
    expect(principal).toMatchObject({
      userId: alice,
      role: "user",
      scopes: ["inference", "models:write"],
      via: "api_key",
      credentialId: record.id,
    });
    const [after] = (await listApiKeys(db(), { userId: alice })).filter((k) => k.id === record.id);
    expect(after?.lastUsedAt).toBeInstanceOf(Date);
  });

  it("rejects a wrong secret, a malformed key and an unknown prefix", async () => {
    const { key } = await createApiKey(db(), { userId: alice, name: "wrong" });
    const last = key.at(-1) === "A" ? "B" : "A";
    expect(await verifyApiKey(db(), key.slice(0, -1) + last)).toBeUndefined();
    expect(await verifyApiKey(db(), key + "x")).toBeUndefined();
    expect(await verifyApiKey(db(), key.slice(0, 14))).toBeUndefined();
    expect(await verifyApiKey(db(), "aixcl_ZZZZZZZZ_" + key.slice(15))).toBeUndefined();
  });

  it("rejects revoked and expired keys, and keys of deleted, disabled or pending users", async () => {
    const revoked = await createApiKey(db(), { userId: alice, name: "revoked" });
    await revokeApiKey(db(), revoked.record.id);
    expect(await verifyApiKey(db(), revoked.key)).toBeUndefined();

    const expiring = await createApiKey(db(), {
      userId: alice,
      name: "expiring",
      expiresAt: new Date(Date.now() + 60_000),
    });
    expect(await verifyApiKey(db(), expiring.key)).toBeDefined();
    await db().query("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1", [
      expiring.record.id,
    ]);
    expect(await verifyApiKey(db(), expiring.key)).toBeUndefined();

    for (const status of ["disabled", "pending"]) {
      const user = await insertUser(db(), "user", "active");
      const { key } = await createApiKey(db(), { userId: user, name: status });
      expect(await verifyApiKey(db(), key)).toBeDefined();
      await db().query("UPDATE users SET status = $2 WHERE id = $1", [user, status]);
      expect(await verifyApiKey(db(), key)).toBeUndefined();
    }

    const doomed = await insertUser(db());
    const { key } = await createApiKey(db(), { userId: doomed, name: "doomed" });
    await db().query("DELETE FROM users WHERE id = $1", [doomed]);
    expect(await verifyApiKey(db(), key)).toBeUndefined();
  });

  it("validates creation: names, scopes, expiry, owner; admin scope only for admins", async () => {
    const cases: [Parameters<typeof createApiKey>[1], string][] = [
      [{ userId: alice, name: "" }, "invalid_request"],
      [{ userId: alice, name: "x".repeat(129) }, "invalid_request"],
      [{ userId: alice, name: "bell\u0007\u001b[31m" }, "invalid_request"],
      [{ userId: alice, name: "line\nbreak" }, "invalid_request"],
      [{ userId: alice, name: "n", scopes: [] }, "invalid_request"],
      [{ userId: alice, name: "n", scopes: ["superuser" as never] }, "invalid_request"],
      [{ userId: alice, name: "n", expiresAt: new Date(Date.now() - 1000) }, "invalid_request"],
      [{ userId: alice, name: "n", scopes: ["admin"] }, "invalid_request"],
      [{ userId: "00000000-0000-4000-8000-000000000000", name: "n" }, "not_found"],
      [{ userId: "'; DROP TABLE users; --", name: "n" }, "not_found"],
    ];
    for (const [input, code] of cases) {
      expect((await rejectedAppError(createApiKey(db(), input))).code, JSON.stringify(input)).toBe(code);
    }
  });

  it("an admin key acts as admin only while its owner is an admin", async () => {
    const { key } = await createApiKey(db(), { userId: admin, name: "root", scopes: ["admin"] });
    expect(await verifyApiKey(db(), key)).toMatchObject({
      role: "admin",
      scopes: ["inference", "models:write", "admin"],
    });
    await db().query("UPDATE users SET role = 'user' WHERE id = $1", [admin]);
    try {
      expect(await verifyApiKey(db(), key)).toMatchObject({
        role: "user",
        scopes: ["inference", "models:write"],
      });
    } finally {
      await db().query("UPDATE users SET role = 'admin' WHERE id = $1", [admin]);
    }
    // An inference-only key of an admin does not carry the admin role.
    const low = await createApiKey(db(), { userId: admin, name: "low" });
    expect(await verifyApiKey(db(), low.key)).toMatchObject({ role: "user", scopes: ["inference"] });
  });

  it("revokes by id or prefix, scoped to the owner: another user's key is not found", async () => {
    const a = await createApiKey(db(), { userId: alice, name: "alice's" });
    const b = await createApiKey(db(), { userId: bob, name: "bob's" });
    for (const ref of [a.record.id, a.record.prefix]) {
      expect((await rejectedAppError(revokeApiKey(db(), ref, { userId: bob }))).code).toBe("not_found");
    }
    expect(await verifyApiKey(db(), a.key)).toBeDefined();

    const revoked = await revokeApiKey(db(), b.record.prefix, { userId: bob });
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(await verifyApiKey(db(), b.key)).toBeUndefined();
    // A second revoke keeps the first time.
    const again = await revokeApiKey(db(), b.record.id);
    expect(again.revokedAt?.getTime()).toBe(revoked.revokedAt?.getTime());

    for (const junk of ["", "nope", "'; DROP TABLE api_keys; --", "00000000-0000-4000-8000-000000000000"]) {
      expect((await rejectedAppError(revokeApiKey(db(), junk))).code).toBe("not_found");
    }
    const bobs = await listApiKeys(db(), { userId: bob });
    expect(bobs.every((k) => k.userId === bob)).toBe(true);
    const all = await listApiKeys(db());
    expect(all.some((k) => k.userId === alice) && all.some((k) => k.userId === bob)).toBe(true);
  });

  it("stores injection payloads as names byte for byte and refuses them as keys, tables intact", async () => {
    const before = await tableNames(db());
    for (const payload of INJECTION_PAYLOADS) {
      const { record } = await createApiKey(db(), { userId: alice, name: payload });
      expect(record.name).toBe(payload);
      expect(await verifyApiKey(db(), payload)).toBeUndefined();
      expect(await verifyApiKey(db(), `aixcl_${payload}`)).toBeUndefined();
      expect(await verifyApiKey(db(), `aixcl_12345678_${payload}`)).toBeUndefined();
    }
    const names = (await listApiKeys(db(), { userId: alice })).map((k) => k.name);
    for (const payload of INJECTION_PAYLOADS) expect(names).toContain(payload);
    expect(await tableNames(db())).toEqual(before);
    expect(before).toEqual(expect.arrayContaining(["api_keys", "users", "sessions", "audit_log"]));
  });
});

describe("api keys in a PGlite data directory", () => {
  it("leave no trace of the key or its secret in any file", async () => {
    const CANARY = "canary-name-4f1c9e";
    const dir = await mkdtemp(join(tmpdir(), "aixcl-keys-pgdata-"));
    try {
      await copyPgliteTemplate(join(dir, "db"));
      const db = await openPglite({ dataDir: join(dir, "db"), sharedBuffersMb: TEST_PGLITE_BUFFERS_MB });
      let key: string;
      try {
        const user = await insertUser(db);
        ({ key } = await createApiKey(db, { userId: user, name: CANARY }));
        expect(await verifyApiKey(db, key)).toBeDefined();
        await db.query("CHECKPOINT");
      } finally {
        await db.close();
      }
      const secret = Buffer.from(key.slice(15));
      const files = await readdir(dir, { recursive: true, withFileTypes: true });
      let canaries = 0;
      for (const entry of files) {
        if (!entry.isFile()) continue;
        const bytes = await readFile(join(entry.parentPath, entry.name));
        if (bytes.includes(CANARY)) canaries += 1;
        expect(bytes.includes(secret), join(entry.parentPath, entry.name)).toBe(false);
      }
      // The key's row did reach the files the scan read (its name is there), only the secret is not.
      expect(canaries).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
