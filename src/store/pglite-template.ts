/**
 * A migrated PGlite data directory made once, at `npm run build` (build-pglite-template.ts, with
 * createPgliteTemplate of open.ts), that a home's first start copies instead of creating a
 * cluster: initdb in WASM costs 4–10 s of CPU and leaves the process's memory ~500 MB higher,
 * where copying the ~25 MB directory (~420 files: the one database aixcl uses, see
 * createPgliteTemplate; copyTree of lib/files.ts) takes ~0.15 s and PGlite then opens it as an
 * existing database. A plain directory rather than PGlite's `loadDataDir` tarball: loading one
 * costs ~2 s of CPU (its tar is unpacked through the WASM file system). The tests build the same
 * template with the same function (test/support/pglite-template.ts).
 */
import { access, readdir, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { copyTree } from "../lib/files.js";
import { builtPath } from "../package-paths.js";

/** Where the build puts the template: `dist/store/pglite-template`. */
export const PGLITE_TEMPLATE_DIR = builtPath("store", "pglite-template");

let firstStartTemplate = PGLITE_TEMPLATE_DIR;

/** The template a home's first start copies (openDatabase in open.ts). */
export function pgliteTemplateDir(): string {
  return firstStartTemplate;
}

/**
 * Points first starts at another template. For the tests, which run the source, where no build
 * put a template beside this module: without one, every first start in a test worker would
 * create a cluster (initdb, ~6 s of CPU) where the built package copies (test/support/worker-setup.ts).
 */
export function useFirstStartTemplate(dir: string): void {
  firstStartTemplate = dir;
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Fills an empty `dataDir` with a copy of `templateDir` when that template exists; returns whether
 * it did. The copy goes to a sibling first and is renamed into place, so a start killed halfway
 * leaves an empty directory (the next start copies again), never half a cluster. The caller holds
 * the data directory's lock (lockDataDir).
 */
export async function seedFromTemplate(dataDir: string, templateDir: string): Promise<boolean> {
  if (!(await exists(join(templateDir, "PG_VERSION")))) return false;
  if ((await readdir(dataDir)).length > 0) return false;
  const partial = join(dirname(dataDir), `.${Date.now()}-${process.pid}.pglite-template`);
  try {
    await copyTree(templateDir, partial);
    await rm(dataDir, { recursive: true });
    await rename(partial, dataDir);
    return true;
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}
