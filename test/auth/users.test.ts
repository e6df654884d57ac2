import { createHash } from "node:crypto";
/**
 * The users service on both engines (PGlite and a real PostgreSQL server): names, password
 * hashing and its limits, case-insensitive uniqueness, the last-admin guard, the sign-up switch,
 * session revocation on password/role changes and deletion, the audit trail, and hostile text.
 */
import { parseOptions } from "@node-rs/argon2";
import { describe, expect, it } from "vitest";
import {
  checkPasswordPolicy,
  hashPassword,
  MAX_PASSWORD_BYTES,
  verifyPassword,
} from "../../src/auth/passwords.js";
import {
  resolveSession,
  revokeAllSessions as revokeAllFromSessions,
  startSession,
} from "../../src/auth/sessions.js";
import {
  createUser,
  findUser,
  isSignupEnabled,
  listUsers,
  removeUser,
  revokeAllSessions,
  setPassword,
  setRole,
  setSignupEnabled,
  setStatus,
} from "../../src/auth/users.js";
import { createRevocationHub, bindRevocationHub, unbindRevocationHub } from "../../src/auth/revocation.js";
import { listAudit } from "../../src/store/audit.js";
import { findUserCredentials } from "../../src/store/users.js";
import { thrownAppError } from "../support/app-error.js";
import { describeEachDatabase } from "../support/databases.js";

const TTL = 60_000;

/** Payloads that break string-built SQL; they must be refused as names or stored as plain text. */
const INJECTIONS = [
  "'; DROP TABLE users; --",
  "admin' --",
  "x' OR '1'='1",
  "\\'; DELETE FROM sessions; --",
  "$1); DELETE FROM users; --",
  "Robert'); DROP TABLE audit_log;--",
];

describe("passwords", () => {
  it("hashes with argon2id at m=19 MiB, t=2, a fresh salt each time", async () => {
    const a = await hashPassword("correct horse battery");
    const b = await hashPassword("correct horse battery");
    expect(a).toMatch(/^\$argon2id\$/);
    expect(a).not.toBe(b);
    const params = parseOptions(a);
    expect(params.memoryCost).toBeGreaterThanOrEqual(19_456);
    expect(params.timeCost).toBeGreaterThanOrEqual(2);
    expect(await verifyPassword(a, "correct horse battery")).toBe(true);
    expect(await verifyPassword(a, "correct horse batterY")).toBe(false);
    expect(await verifyPassword(undefined, "correct horse battery")).toBe(false);
    expect(await verifyPassword("not-a-hash", "whatever123")).toBe(false);
  });

  it("refuses too short and too long passwords before hashing", async () => {
    expect(thrownAppError(() => checkPasswordPolicy("short")).code).toBe("invalid_request");
    const huge = "x".repeat(MAX_PASSWORD_BYTES + 1);
    expect(thrownAppError(() => checkPasswordPolicy(huge)).code).toBe("invalid_request");
    // Multi-byte characters count in bytes: 342 × 3 bytes is over the cap.
    expect(thrownAppError(() => checkPasswordPolicy("€".repeat(342))).code).toBe("invalid_request");
    checkPasswordPolicy("€".repeat(341));
    // A megabyte password is refused without spending an argon2 computation on it.
    const started = performance.now();
    await expect(hashPassword("y".repeat(1 << 20))).rejects.toMatchObject({ code: "invalid_request" });
    expect(await verifyPassword(await hashPassword("12345678"), "y".repeat(1 << 20))).toBe(false);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describeEachDatabase("users", (db) => {
  it("creates users with valid names only; names are unique whatever their case", async () => {
    const alice = await createUser(db(), {
      username: "Alice.Smith@corp-1",
      password: "alice-password",
      role: "user",
    });
    expect(alice).toMatchObject({ username: "Alice.Smith@corp-1", role: "user", status: "active" });
    expect(await findUser(db(), "alice.smith@CORP-1")).toMatchObject({ id: alice.id });
    await expect(
      createUser(db(), { username: "ALICE.SMITH@corp-1", password: "other-password", role: "user" }),
    ).rejects.toMatchObject({ code: "conflict" });
    for (const bad of [
      "",
      "a".repeat(65),
      "with space",
      "semi;colon",
      "slash/name",
      "ünïcode",
      "tab\tname",
    ]) {
      await expect(
        createUser(db(), { username: bad, password: "good-password", role: "user" }),
      ).rejects.toMatchObject({ code: "invalid_request", param: "username" });
    }
    await expect(
      createUser(db(), { username: "shorty", password: "1234567", role: "user" }),
    ).rejects.toMatchObject({
      code: "invalid_request",
      param: "password",
    });
    // The hash is stored, never the password.
    const stored = await findUserCredentials(db(), "alice.smith@corp-1");
    expect(stored?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(await db().query("SELECT * FROM users"))).not.toContain("alice-password");
  });

  it("rejects SQL payloads as names and stores them verbatim as passwords, tables intact", async () => {
    for (const payload of INJECTIONS) {
      await expect(
        createUser(db(), { username: payload, password: "good-password", role: "user" }),
      ).rejects.toMatchObject({ code: "invalid_request" });
      expect(await findUser(db(), payload)).toBeUndefined();
    }
    const user = await createUser(db(), { username: "mallory", password: INJECTIONS[0]!, role: "user" });
    const stored = await findUserCredentials(db(), "mallory");
    expect(await verifyPassword(stored?.passwordHash, INJECTIONS[0]!)).toBe(true);
    const users = await listUsers(db());
    expect(users.map((u) => u.id)).toContain(user.id);
    const tables = await db().query<{ n: number }>(
      "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('users','sessions','audit_log')",
    );
    expect(tables.rows[0]?.n).toBe(3);
  });

  it("never leaves the platform without an active admin", async () => {
    await createUser(db(), { username: "root", password: "root-password", role: "admin" });
    await expect(removeUser(db(), "root")).rejects.toMatchObject({ code: "conflict" });
    await expect(setRole(db(), "root", "user")).rejects.toMatchObject({ code: "conflict" });
    await createUser(db(), { username: "root2", password: "root-password", role: "admin" });
    expect((await setRole(db(), "root", "user")).role).toBe("user");
    await expect(setRole(db(), "nobody", "user")).rejects.toMatchObject({ code: "not_found" });
    await expect(removeUser(db(), "nobody")).rejects.toMatchObject({ code: "not_found" });
  });

  it("ends a user's sessions on password change, role change, deactivation and deletion", async () => {
    await createUser(db(), { username: "bob", password: "bob-password-1", role: "user" });
    const bob = (await findUser(db(), "bob"))!;
    const login = async () => (await startSession(db(), bob.id, TTL)).id;
    const live = async (id: string) => (await resolveSession(db(), id, TTL)) !== undefined;

    let id = await login();
    expect((await resolveSession(db(), id, TTL))?.principal).toMatchObject({
      userId: bob.id,
      username: "bob",
      role: "user",
      scopes: ["inference"],
      via: "session",
    });
    await setPassword(db(), "bob", "bob-password-2");
    expect(await live(id)).toBe(false);
    expect(
      await verifyPassword((await findUserCredentials(db(), "bob"))?.passwordHash, "bob-password-2"),
    ).toBe(true);

    id = await login();
    await setRole(db(), "bob", "admin");
    expect(await live(id)).toBe(false);
    id = await login();
    expect((await resolveSession(db(), id, TTL))?.principal.scopes).toContain("admin");

    await setStatus(db(), "bob", "disabled");
    expect(await live(id)).toBe(false);
    await setStatus(db(), "bob", "active");

    id = await login();
    await removeUser(db(), "bob");
    expect(await live(id)).toBe(false);
    expect(await findUser(db(), "bob")).toBeUndefined();
  });

  it("revokeAllSessions ends every session and cuts every open session request", async () => {
    await createUser(db(), { username: "carol", password: "carol-password", role: "user" });
    const carol = (await findUser(db(), "carol"))!;
    const ids = [await startSession(db(), carol.id, TTL), await startSession(db(), carol.id, TTL)];

    const hub = createRevocationHub();
    bindRevocationHub(db(), hub);
    const cut: string[] = [];
    hub.register(
      { userId: carol.id, role: "user", scopes: [], via: "session", credentialId: ids[0]!.idHash },
      {
        destroy: () => cut.push("session"),
      },
    );
    hub.register(
      { userId: carol.id, role: "user", scopes: [], via: "api_key", credentialId: "key-1" },
      {
        destroy: () => cut.push("key"),
      },
    );
    try {
      expect(revokeAllSessions).toBe(revokeAllFromSessions);
      expect(await revokeAllSessions(db())).toBeGreaterThanOrEqual(2);
      for (const { id } of ids) expect(await resolveSession(db(), id, TTL)).toBeUndefined();
      // Sessions' requests are cut; an API key's request is not a session's.
      expect(cut).toEqual(["session"]);
      expect(hub.size).toBe(1);
    } finally {
      unbindRevocationHub(db(), hub);
    }
  });

  it("sessions expire after the inactivity ttl and malformed cookie ids never reach the database", async () => {
    await createUser(db(), { username: "dave", password: "dave-password", role: "user" });
    const dave = (await findUser(db(), "dave"))!;
    const { id, idHash } = await startSession(db(), dave.id, TTL);
    expect(await resolveSession(db(), id, TTL)).toBeDefined();
    await db().query("UPDATE sessions SET expires_at = now() - interval '1 second' WHERE id_hash = $1", [
      idHash,
    ]);
    expect(await resolveSession(db(), id, TTL)).toBeUndefined();
    // Only the hash is stored.
    const rows = await db().query("SELECT * FROM sessions");
    expect(JSON.stringify(rows)).not.toContain(id);
    for (const junk of ["", "short", `${id}x`, "' OR 1=1 --".padEnd(43, "x")]) {
      expect(await resolveSession(db(), junk, TTL)).toBeUndefined();
    }
  });

  it("keys session rows with the session secret: another secret finds nothing", async () => {
    await createUser(db(), { username: "sid", password: "sid-password-1", role: "user" });
    const sid = (await findUser(db(), "sid"))!;
    const { id, idHash } = await startSession(db(), sid.id, TTL, {}, "secret-one");
    expect(idHash).not.toBe(createHash("sha256").update(id).digest("hex"));
    expect(await resolveSession(db(), id, TTL, "secret-one")).toBeDefined();
    expect(await resolveSession(db(), id, TTL, "secret-two")).toBeUndefined();
    expect(await resolveSession(db(), id, TTL)).toBeUndefined();
  });

  it("keeps sign-up closed until an admin opens it, and audits account changes", async () => {
    expect(await isSignupEnabled(db())).toBe(false);
    await setSignupEnabled(db(), true, { name: "root" });
    expect(await isSignupEnabled(db())).toBe(true);
    await setSignupEnabled(db(), false, { name: "root" });
    expect(await isSignupEnabled(db())).toBe(false);

    const pending = await createUser(db(), {
      username: "erin",
      password: "erin-password",
      role: "user",
      status: "pending",
    });
    expect(pending.status).toBe("pending");
    expect((await setStatus(db(), "erin", "active", { name: "root" })).status).toBe("active");

    const actions = (await listAudit(db(), { limit: 1000 })).map((e) => e.action);
    for (const action of [
      "user.add",
      "user.remove",
      "user.role",
      "user.passwd",
      "user.status",
      "settings.signup",
    ]) {
      expect(actions).toContain(action);
    }
    const audit = JSON.stringify(await db().query("SELECT * FROM audit_log"));
    expect(audit).not.toContain("erin-password");
    expect(audit).not.toContain("bob-password");
  });
});
