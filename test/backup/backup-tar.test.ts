import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultBackupName } from "../../src/backup/backup.js";
import { createTarWriter, decodeHeader, encodeHeader, readTar } from "../../src/backup/tar.js";
import { rejectedAppError, thrownAppError } from "../support/app-error.js";
import { run } from "./backup-support.js";

const LONG = `${"deep/".repeat(24)}${"n".repeat(90)}.json`; // > 100 bytes: needs the ustar prefix field

const FILES: { name: string; data: Buffer }[] = [
  { name: "empty", data: Buffer.alloc(0) },
  { name: "one-byte", data: Buffer.from("x") },
  { name: "block", data: randomBytes(512) },
  { name: "block-and-one", data: randomBytes(513) },
  { name: "dir/large.bin", data: randomBytes(700 * 1024 + 3) },
  { name: LONG, data: Buffer.from("long name") },
];

describe("backup archive (ustar)", () => {
  let dir: string;
  let archive: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "aixcl-tar-"));
    archive = join(dir, "test.tar");
    const handle = await open(archive, "wx", 0o600);
    const tar = createTarWriter(handle);
    for (const file of FILES) {
      const written = await tar.addFile(
        { name: file.name, mode: 0o600, mtime: 1_700_000_000 },
        async (write) => {
          // In uneven pieces, as a dump streams.
          for (let at = 0; at < file.data.length; at += 100_000)
            await write(file.data.subarray(at, at + 100_000));
        },
      );
      expect(written.size).toBe(file.data.length);
    }
    await tar.finish();
    await handle.close();
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("GNU tar lists and extracts exactly what was written", async () => {
    const { stdout } = await run("tar", ["tvf", archive]);
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(FILES.length);
    for (const [i, file] of FILES.entries()) {
      expect(lines[i]).toMatch(/^-rw------- /);
      expect(lines[i]?.endsWith(` ${file.name}`)).toBe(true);
      expect(lines[i]).toContain(` ${file.data.length} `);
    }
    const out = join(dir, "out");
    await mkdir(out);
    await run("tar", ["xf", archive, "-C", out]);
    for (const file of FILES) expect((await readFile(join(out, file.name))).equals(file.data)).toBe(true);
  });

  it("reads back every entry with its contents", async () => {
    const handle = await open(archive, "r");
    const seen: { name: string; data: Buffer }[] = [];
    try {
      await readTar(handle, async (entry, contents) => {
        const chunks: Buffer[] = [];
        for await (const chunk of contents) chunks.push(chunk);
        seen.push({ name: entry.name, data: Buffer.concat(chunks) });
        expect(entry.mode).toBe(0o600);
      });
    } finally {
      await handle.close();
    }
    expect(seen.map((f) => f.name)).toEqual(FILES.map((f) => f.name));
    for (const [i, file] of FILES.entries()) expect(seen[i]?.data.equals(file.data)).toBe(true);
  });

  it("refuses any single changed byte of a header", () => {
    const header = encodeHeader({
      name: "vault/entries/a.json",
      size: 1234,
      mode: 0o600,
      mtime: 1_700_000_000,
    });
    expect(decodeHeader(header)).toEqual({
      name: "vault/entries/a.json",
      size: 1234,
      mode: 0o600,
      mtime: 1_700_000_000,
    });
    for (let offset = 0; offset < 512; offset++) {
      const damaged = Buffer.from(header);
      damaged[offset] = (damaged[offset] ?? 0) ^ 0x04;
      expect(thrownAppError(() => decodeHeader(damaged)).code, `byte ${offset}`).toBe("invalid_request");
    }
  });

  it("refuses a truncated archive and bytes after the end marker", async () => {
    const bytes = await readFile(archive);
    for (const [name, data] of [
      ["truncated", bytes.subarray(0, bytes.length - 1024 - 512)],
      ["no end marker", bytes.subarray(0, bytes.length - 1024)],
      ["trailing bytes", Buffer.concat([bytes, Buffer.from("x")])],
    ] as const) {
      const file = join(dir, `${name}.tar`);
      const handle = await open(file, "w");
      await handle.writeFile(data);
      await handle.close();
      const reading = await open(file, "r");
      try {
        const error = await rejectedAppError(readTar(reading, async () => undefined));
        expect(error.message, name).toMatch(/^not a valid aixcl backup: /);
      } finally {
        await reading.close();
      }
    }
  });
});

describe("backup file name", () => {
  it("is aixcl-backup-<UTC timestamp>.tar", () => {
    expect(defaultBackupName(new Date("2025-01-02T03:04:05.678Z"))).toBe("aixcl-backup-20250102T030405Z.tar");
  });
});
