/**
 * Writes test/support/file-durations.json from the durations vitest cached in its last run here
 * (node_modules/.vite/vitest/<hash>/results.json): the order test/support/sequencer.ts starts
 * files in on a fresh clone, which has no such cache. Run after a full `npm test`:
 *
 *   npm run test:durations
 *
 * vitest's cache keeps every file it has ever run here, also ones since deleted or outside the
 * suite (a scratch test run by path): only the repository's own files are written.
 */
import { execFileSync } from "node:child_process";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CACHE = join(ROOT, "node_modules", ".vite", "vitest");
const OUT = join(ROOT, "test", "support", "file-durations.json");

interface CachedResults {
  results: [string, { duration: number; failed: boolean }][];
}

/** The newest results.json under vitest's cache folder. */
async function newestResults(): Promise<string> {
  const found: { path: string; mtime: number }[] = [];
  for (const entry of await readdir(CACHE)) {
    const path = join(CACHE, entry, "results.json");
    const info = await stat(path).catch(() => undefined);
    if (info) found.push({ path, mtime: info.mtimeMs });
  }
  const newest = found.sort((a, b) => b.mtime - a.mtime)[0];
  if (newest === undefined) throw new Error(`no vitest results under ${CACHE}: run npm test first`);
  return newest.path;
}

const cached = JSON.parse(await readFile(await newestResults(), "utf8")) as CachedResults;
const tracked = new Set(execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0"));
const seconds: Record<string, number> = {};
for (const [key, { duration }] of cached.results.sort((a, b) => b[1].duration - a[1].duration)) {
  // Keys are "<project>:<path>"; this repository has one unnamed project.
  const path = key.slice(key.indexOf(":") + 1);
  if (tracked.has(path)) seconds[path] = Math.round(duration / 100) / 10;
}
await writeFile(OUT, `${JSON.stringify(seconds, null, 2)}\n`);
console.log(`${Object.keys(seconds).length} files -> ${OUT}`);
