/**
 * A migrated PGlite database made once per run (by test/support/global-setup.ts), which test
 * databases and test platform homes start from, and which the run's compiled source ships as its
 * first-start template (src/store/pglite-template.ts), as `npm run build` does: creating a PGlite
 * cluster costs 4–10 s of CPU (initdb in WASM) and the suite opened ~35 of them, where loading a
 * dump or reopening a copied data directory takes ~1 s. The source a test worker runs copies it
 * on a first start too (test/support/worker-setup.ts); the tests of migrating from zero copy the
 * same cluster as it was before its migrations. The run creates one cluster: this one.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { inject } from "vitest";
import { copyTree } from "../../src/lib/files.js";
import { buildTemplateInChild, type PgliteTemplate } from "./pglite-template-build.js";

declare module "vitest" {
  export interface ProvidedContext {
    pgliteTemplate: PgliteTemplate;
  }
}

/** Creates and migrates the template (in a child process); the result's `remove` deletes it. */
export async function createTestPgliteTemplate(): Promise<PgliteTemplate & { remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "aixcl-pglite-template-"));
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    return { ...(await buildTemplateInChild(dir)), remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

let dump: Promise<Blob> | undefined;

/** The template's dump (read once per worker). */
export function pgliteTemplateDump(): Promise<Blob> {
  dump ??= readFile(inject("pgliteTemplate").dump).then((bytes) => new Blob([bytes]));
  return dump;
}

/**
 * Copies the template's data directory to `dataDir` (which must not exist yet); `blank`: the
 * cluster before migrations.
 */
export async function copyPgliteTemplate(
  dataDir: string,
  which: "migrated" | "blank" = "migrated",
): Promise<void> {
  if (existsSync(dataDir)) throw new Error(`${dataDir} already exists`);
  await mkdir(dirname(dataDir), { recursive: true });
  const template = inject("pgliteTemplate");
  await copyTree(which === "blank" ? template.blankDataDir : template.dataDir, dataDir);
}
