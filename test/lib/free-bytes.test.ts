/**
 * freeBytes (src/lib/files.ts): what the health route, the disk gauge and `utils doctor` report
 * for a directory that may not exist yet (a models dir before the first pull).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { existingAncestor, freeBytes } from "../../src/lib/files.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-free-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it("measures a path that does not exist yet at its nearest existing ancestor", async () => {
  const missing = join(dir, "models", "blobs");
  expect(await existingAncestor(missing)).toBe(dir);
  const free = await freeBytes(missing);
  expect(free).toBeGreaterThan(0);
  // Same file system as the ancestor: within what other writers changed in between.
  expect(Math.abs((free ?? 0) - ((await freeBytes(dir)) ?? 0))).toBeLessThan(64 * 1024 * 1024);
});
