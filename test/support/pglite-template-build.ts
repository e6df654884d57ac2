/**
 * Makes the run's PGlite template (test/support/pglite-template.ts) in a process of its own, which
 * the vitest global setup starts first: PGlite runs on the thread that calls it, and in the setup's
 * own process its ~7 s of initdb and migrations held up the compile and the browser app's build
 * beside it (12.5 s for the setup; in a child the two run on both cores at once).
 *
 *   node --import tsx test/support/pglite-template-build.ts <empty dir>
 *
 * prints the template's paths (PgliteTemplate) as JSON on stdout.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import { createPgliteTemplate } from "../../src/store/open.js";
import { openPglite } from "../../src/store/pglite.js";

export interface PgliteTemplate {
  /** A migrated data directory, never opened by tests: they copy it. */
  dataDir: string;
  /** The same cluster before any migration, for the tests of migrating from zero. */
  blankDataDir: string;
  /** The same database as a `dumpDataDir()` tarball, for in-memory databases. */
  dump: string;
}

const run = promisify(execFile);

/**
 * Copies the directory `from` to `to` (which must not exist) with coreutils' `cp`: a PGlite data
 * directory is ~1,000 files, which `cp` copies for ~0.1 s of CPU where Node's recursive `fs.cp`
 * takes ~0.5–0.8 s.
 */
export async function copyTree(from: string, to: string): Promise<void> {
  await run("cp", ["-R", from, to]);
}

/** Creates and migrates the template in `dir` (empty). */
async function buildTemplate(dir: string): Promise<PgliteTemplate> {
  const dataDir = join(dir, "db");
  const blankDataDir = join(dir, "blank");
  await (await openPglite({ dataDir: blankDataDir })).close();
  await copyTree(blankDataDir, dataDir);
  // The same template `npm run build` ships for a home's first start (src/store/pglite-template.ts).
  await createPgliteTemplate(dataDir);
  const pg = await PGlite.create(dataDir);
  try {
    const dump = join(dir, "db.tar");
    await writeFile(dump, Buffer.from(await (await pg.dumpDataDir("none")).arrayBuffer()));
    return { dataDir, blankDataDir, dump };
  } finally {
    await pg.close();
  }
}

/** Builds the template in `dir` (empty) in a child process. */
export async function buildTemplateInChild(dir: string): Promise<PgliteTemplate> {
  const { stdout } = await run(process.execPath, ["--import", "tsx", fileURLToPath(import.meta.url), dir], {
    cwd: fileURLToPath(new URL("../..", import.meta.url)),
  });
  return JSON.parse(stdout) as PgliteTemplate;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error("usage: pglite-template-build.ts <empty dir>");
  process.stdout.write(JSON.stringify(await buildTemplate(dir)));
}
