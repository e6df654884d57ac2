/**
 * Helpers of the backup tests: full snapshots of a database and a directory to compare before and
 * after, seed data full of hostile text, and an archive rewriter that keeps every checksum valid
 * (to reach the checks that come after the checksums).
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { open, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { createApiKey } from "../../src/auth/api-keys.js";
import { startSession } from "../../src/auth/sessions.js";
import { createUser } from "../../src/auth/users.js";
import { createLogger } from "../../src/logger.js";
import { listTables } from "../../src/backup/catalog.js";
import { quoteIdent } from "../../src/backup/copy-text.js";
import {
  MANIFEST_NAME,
  MANIFEST_SUM_NAME,
  manifestSumLine,
  parseManifest,
  serializeManifest,
} from "../../src/backup/manifest.js";
import { createTarWriter, readTar } from "../../src/backup/tar.js";
import { recordAudit } from "../../src/store/audit.js";
import { createConversation } from "../../src/store/conversations.js";
import { appendMessages } from "../../src/store/messages.js";
import { setSetting } from "../../src/store/settings.js";
import type { Database } from "../../src/store/types.js";
import { createVault } from "../../src/vault/vault.js";

export const run = promisify(execFile);

/** Text that breaks naive dumps: COPY's terminator and escapes, quotes, injection, controls, emoji. */
export const HOSTILE = [
  "'; DROP TABLE users; --",
  "\\.",
  "line one\n\\.\nline three",
  "tab\there\tand\\backslash\\\\double",
  "emoji 😀🎉, accents éàü, CJK 漢字, RTL مرحبا",
  "\\N",
  "carriage\r\nreturn",
  `"double" and 'single' quotes`,
  "\b\f\v controls \u0001\u001f",
  "$1 $$ dollar $tag$",
  "   leading and trailing spaces   ",
  "COPY users (id) FROM stdin;",
  "SELECT pg_catalog.setval('x', 1, true);",
];

/** Every row of every table (as the row's text, sorted) and every sequence position. */
export async function snapshot(db: Database): Promise<Record<string, string[]>> {
  return db.transaction(async (tx) => {
    await tx.query("SET LOCAL TimeZone = 'UTC'");
    const out: Record<string, string[]> = {};
    for (const table of await listTables(tx)) {
      const { rows } = await tx.query<{ row: string }>(
        `SELECT (t.*)::text AS row FROM ${quoteIdent(table.name)} t`,
      );
      out[table.name] = rows.map((r) => r.row).sort();
      for (const column of table.columns) {
        if (column.sequence === null) continue;
        const last = await tx.query<{ value: string | null }>(
          "SELECT pg_sequence_last_value($1::regclass)::text AS value",
          [column.sequence],
        );
        out[`sequence ${table.name}.${column.name}`] = [String(last.rows[0]?.value)];
      }
    }
    return out;
  });
}

/** Every file under `dir` (relative path → bytes as hex), for exact comparisons. */
export async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (relative: string) => {
    for (const entry of await readdir(join(dir, relative), { withFileTypes: true })) {
      const rel = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(rel);
      else out[rel] = (await readFile(join(dir, rel))).toString("hex");
    }
  };
  await walk("");
  return out;
}

export const silentLogger = () => createLogger({ level: "silent" });

export const SECRETS = {
  "admin.password": "Vault-Secret-9f3a7c1e-d0d8-4b57",
  "session.secret": "session-5e8b0a4c7d2f9e1a6b3c8d0f2a4e6b8c",
};

/** A keyfile vault in `dir` holding SECRETS. */
export async function seedVault(dir: string): Promise<void> {
  const vault = createVault({ dir, logger: silentLogger() });
  await vault.init({ mode: "keyfile" });
  for (const [name, value] of Object.entries(SECRETS)) await vault.set(name, value);
  await vault.close();
}

/** Users, a session, an API key, conversations with hostile messages, audit rows and settings. */
export async function seedDatabase(db: Database, tag: string): Promise<void> {
  const admin = await createUser(db, {
    username: `admin-${tag}`,
    password: "correct horse battery",
    role: "admin",
  });
  const user = await createUser(db, { username: `user-${tag}`, password: HOSTILE[0]!, role: "user" });
  await startSession(db, user.id, 3_600_000, { address: "127.0.0.1", userAgent: HOSTILE[3] });
  await createApiKey(db, {
    userId: admin.id,
    name: `key ${HOSTILE[7]}`,
    scopes: ["inference", "models:write"],
    expiresAt: new Date(Date.now() + 86_400_000),
  });
  for (const [index, title] of HOSTILE.slice(0, 4).entries()) {
    const conversation = await createConversation(db, user.id, { title, model: index % 2 ? null : "hello" });
    await appendMessages(
      db,
      user.id,
      conversation.id,
      HOSTILE.map((content, i) => ({
        role: i % 2 ? ("assistant" as const) : ("user" as const),
        content,
        ...(i % 3 === 0 ? { metadata: { text: content, nested: { list: [1, null, content] } } } : {}),
      })),
    );
  }
  for (const text of HOSTILE) {
    await recordAudit(db, {
      actor: "test",
      action: "test.hostile",
      target: text,
      address: null,
      details: { text },
    });
  }
  await setSetting(db, "signup", true);
  await setSetting(db, `hostile-${tag}`, { values: HOSTILE, empty: "", nothing: null });
}

/** Wipes every row (and the version) as a disaster would leave the database. */
export async function wipe(db: Database): Promise<void> {
  const tables = await listTables(db);
  await db.query(`TRUNCATE ${tables.map((t) => quoteIdent(t.name)).join(", ")} RESTART IDENTITY CASCADE`);
}

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/**
 * Copies an archive through `edit` (per entry name; return the bytes to keep) and writes a new
 * manifest and manifest digest that match, so only the later checks can refuse it.
 */
export async function rewriteBackup(
  source: string,
  target: string,
  edit: (name: string, data: Buffer) => Buffer,
  editManifest: (manifest: Record<string, unknown>) => void = () => undefined,
): Promise<void> {
  const entries: { name: string; mode: number; mtime: number; data: Buffer }[] = [];
  const input = await open(source, "r");
  try {
    await readTar(input, async (entry, contents) => {
      const chunks: Buffer[] = [];
      for await (const chunk of contents) chunks.push(chunk);
      entries.push({ name: entry.name, mode: entry.mode, mtime: entry.mtime, data: Buffer.concat(chunks) });
    });
  } finally {
    await input.close();
  }
  const manifestEntry = entries.find((e) => e.name === MANIFEST_NAME)!;
  const manifest = parseManifest(manifestEntry.data) as unknown as Record<string, unknown> & {
    entries: { name: string; size: number; sha256: string }[];
  };
  const output = await open(target, "wx", 0o600);
  try {
    const tar = createTarWriter(output);
    for (const entry of entries) {
      if (entry.name === MANIFEST_NAME || entry.name === MANIFEST_SUM_NAME) continue;
      const data = edit(entry.name, entry.data);
      await tar.addFile({ name: entry.name, mode: entry.mode, mtime: entry.mtime }, (write) => write(data));
      const listed = manifest.entries.find((e) => e.name === entry.name)!;
      listed.size = data.length;
      listed.sha256 = sha256(data);
    }
    editManifest(manifest);
    const text = Buffer.from(serializeManifest(manifest as never));
    await tar.addFile({ name: MANIFEST_NAME, mode: 0o600, mtime: 0 }, (write) => write(text));
    await tar.addFile({ name: MANIFEST_SUM_NAME, mode: 0o600, mtime: 0 }, (write) =>
      write(manifestSumLine(sha256(text))),
    );
    await tar.finish();
  } finally {
    await output.close();
  }
}
