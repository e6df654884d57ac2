/**
 * Vitest global setup: writes the common test models once before any worker starts, so test
 * files do not all generate them at the same moment on the 2 shared cores (the factories are
 * idempotent and cached, so workers calling them again just get the paths), starts the one
 * real PostgreSQL server of this run, whose superuser test files reach through `inject("postgres")`,
 * compiles src/ for the child processes the tests start (test/support/build.ts), and migrates the
 * PGlite database test databases start from (test/support/pglite-template.ts). The run's processes
 * share a cache directory of its own (XDG_CACHE_HOME, inherited by the workers and what they
 * start): node-llama-cpp's binary test then runs only in the runners that start before its first
 * pass is written (src/engine/runner/binary-memo.ts; 4 of a run's ~45 here, where each server and
 * worker ran it once: 10), and nothing is written to the user's ~/.cache.
 */
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { copyTree } from "../../src/lib/files.js";
import { compileSource } from "./build.js";
import { createTestPgliteTemplate } from "./pglite-template.js";
import { adminOf, startPostgres, type PostgresAdmin } from "./postgres.js";
import { scriptedModel, tinyModel } from "./test-models.js";

declare module "vitest" {
  export interface ProvidedContext {
    postgres: PostgresAdmin;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cleanups: (() => Promise<void>)[] = [];
  const cache = await mkdtemp(join(tmpdir(), "aixcl-test-cache-"));
  cleanups.push(() => rm(cache, { recursive: true, force: true }));
  process.env.XDG_CACHE_HOME = cache;
  const teardown = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  // Each part registers its cleanup as soon as it exists, so a failure elsewhere still undoes it.
  const starting = startPostgres().then((server) => {
    cleanups.push(server.stop);
    return server;
  });
  const compiling = compileSource().then((build) => {
    cleanups.push(build.remove);
    return build;
  });
  const templating = createTestPgliteTemplate().then((template) => {
    cleanups.push(template.remove);
    return template;
  });
  try {
    const [server, build, template] = await Promise.all([
      starting,
      compiling,
      templating,
      tinyModel(),
      scriptedModel("hello", ["Hello", " world", "!"]),
    ]);
    // Where the compiled server looks for its first-start template, as in `npm run build`'s dist/.
    await mkdir(join(build.root, "dist", "store"), { recursive: true });
    await copyTree(template.dataDir, join(build.root, "dist", "store", "pglite-template"));
    project.provide("postgres", adminOf(server));
    const { remove: _remove, ...compiled } = build;
    project.provide("compiled", compiled);
    const { remove: _removeTemplate, ...pgliteTemplate } = template;
    project.provide("pgliteTemplate", pgliteTemplate);
  } catch (error) {
    // Let whatever is still starting finish, so its cleanup is registered before teardown runs.
    await Promise.allSettled([starting, compiling, templating]);
    await teardown();
    throw error;
  }
  return teardown;
}
