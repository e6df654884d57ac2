import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyTree } from "../../src/lib/files.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-copy-tree-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every file under `root` with its bytes and permission bits, and every directory. */
async function listing(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const key = path.slice(root.length + 1);
    const mode = ((await stat(path)).mode & 0o777).toString(8);
    out[key] = entry.isDirectory() ? `dir ${mode}` : `${mode} ${await readFile(path, "utf8")}`;
  }
  return out;
}

describe("copyTree", () => {
  it("copies nested directories (0700) and files with their bytes and modes", async () => {
    const from = join(dir, "from");
    await mkdir(join(from, "base", "5"), { recursive: true });
    await mkdir(join(from, "pg_wal", "archive_status"), { recursive: true });
    await writeFile(join(from, "PG_VERSION"), "17\n");
    await writeFile(join(from, "base", "5", "1259"), "relation bytes");
    await writeFile(join(from, "base", "5", "empty"), "");
    await chmod(join(from, "base", "5", "1259"), 0o600);
    await copyTree(from, join(dir, "to"));
    const copied = await listing(join(dir, "to"));
    expect(copied).toEqual({
      PG_VERSION: expect.stringMatching(/ 17\n$/) as string,
      base: "dir 700",
      "base/5": "dir 700",
      "base/5/1259": "600 relation bytes",
      "base/5/empty": expect.stringMatching(/ $/) as string,
      pg_wal: "dir 700",
      "pg_wal/archive_status": "dir 700",
    });
    expect(((await stat(join(dir, "to"))).mode & 0o777).toString(8)).toBe("700");
    const original = await listing(from);
    for (const file of ["PG_VERSION", "base/5/1259", "base/5/empty"])
      expect(copied[file]).toBe(original[file]);
  });

  it("refuses a target that exists, and a tree holding a symbolic link, copying nothing", async () => {
    const from = join(dir, "linked");
    await mkdir(from);
    await writeFile(join(from, "file"), "x");
    await mkdir(join(dir, "taken"));
    await expect(copyTree(from, join(dir, "taken"))).rejects.toThrow(/EEXIST/);
    await symlink("/etc/passwd", join(from, "link"));
    await expect(copyTree(from, join(dir, "elsewhere"))).rejects.toThrow(/link: not a file or a directory/);
    await expect(stat(join(dir, "elsewhere"))).rejects.toThrow(/ENOENT/);
  });
});
