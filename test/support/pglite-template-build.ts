/**
 * Makes the run's PGlite template (test/support/pglite-template.ts) in a process of its own, which
 * the vitest global setup starts first: PGlite runs on the thread that calls it, and in the setup's
 * own process its ~7 s of initdb and migrations held up the compile and the browser app's build
 * beside it (12.5 s for the setup; in a child the two run on both cores at once).
 *
 *   node <this file, bundled by esbuild> <empty dir>
 *
 * prints the template's paths (PgliteTemplate) as JSON on stdout. Bundled rather than run through
 * tsx: tsx transforming the store's modules cost the child ~0.6 s on the setup's critical path.
 * Every open is a one-shot with small shared buffers (~1.4 s less for the initdb).
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { build } from "esbuild";
import { copyTree } from "../../src/lib/files.js";
import { createPgliteTemplate } from "../../src/store/open.js";
import { openPglite } from "../../src/store/pglite.js";

export interface PgliteTemplate {
  /** A migrated data directory, never opened by tests: they copy it. */
  dataDir: string;
  /** The same cluster before any migration, for the tests of migrating from zero. */
  blankDataDir: string;
  /** The same database as a tarball PGlite's `loadDataDir` reads, for in-memory databases. */
  dump: string;
}

const run = promisify(execFile);

/** MiB of shared buffers for the tests' PGlite opens and the template build's: each is short-lived. */
export const TEST_PGLITE_BUFFERS_MB = 4;

/** Creates and migrates the template in `dir` (empty). */
async function buildTemplate(dir: string): Promise<PgliteTemplate> {
  const dataDir = join(dir, "db");
  const blankDataDir = join(dir, "blank");
  await (await openPglite({ dataDir: blankDataDir, sharedBuffersMb: TEST_PGLITE_BUFFERS_MB })).close();
  await copyTree(blankDataDir, dataDir);
  // The same template `npm run build` ships for a home's first start (src/store/pglite-template.ts).
  await createPgliteTemplate(dataDir);
  // GNU tar makes the same archive PGlite's dumpDataDir() would (its loadDataDir reads either)
  // for ~0.1 s, where reopening the database to dump it took ~1.2 s.
  const dump = join(dir, "db.tar");
  await run("tar", ["-C", dataDir, "-cf", dump, "."]);
  return { dataDir, blankDataDir, dump };
}

/** Builds the template in `dir` (empty) in a child process. */
export async function buildTemplateInChild(dir: string): Promise<PgliteTemplate> {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  await mkdir(join(root, ".tmp"), { recursive: true });
  // Under the repository, not beside the template: the bundle finds its packages (external) by
  // walking up to node_modules.
  const scriptDir = await mkdtemp(join(root, ".tmp", "template-build-"));
  const script = join(scriptDir, "build-template.mjs");
  try {
    await build({
      entryPoints: [fileURLToPath(import.meta.url)],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      outfile: script,
      logLevel: "error",
    });
    const { stdout } = await run(process.execPath, [script, dir], { cwd: root });
    return JSON.parse(stdout) as PgliteTemplate;
  } finally {
    await rm(scriptDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (dir === undefined) throw new Error("usage: pglite-template-build.ts <empty dir>");
  process.stdout.write(JSON.stringify(await buildTemplate(dir)));
}
