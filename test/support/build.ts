/**
 * The JavaScript the test run's child processes execute. The vitest global setup compiles src/
 * once per run (esbuild, one output file per source file, ~1-2 s) into a fresh directory under
 * .tmp/, with the browser app built beside it (Vite), and the CLI tests, the crash writers and every llama.cpp runner spawn that instead of
 * `node --import tsx` on the TypeScript: tsx compiles each module again in every child, which
 * doubled the start-up of each of the run's few hundred child processes (and node-llama-cpp's
 * binary self-test inherits the loader too). The directory is new for each run and deleted at
 * teardown, so no test can spawn a build older than the source it was started from.
 */
import { copyFile, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { bundleEntries } from "../../scripts/bundle.js";
import { build as viteBuild } from "vite";
import { inject } from "vitest";
import { RunnerPool } from "../../src/engine/runner/pool.js";

declare module "vitest" {
  export interface ProvidedContext {
    compiled: CompiledSource;
  }
}

/** Repository root. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface CompiledSource {
  /** The build's root: `dist/` (src/ compiled) and a copy of package.json (src/version.ts reads it). */
  root: string;
  /** `dist/cli/main.js`: the `aixcl` command. */
  cli: string;
  /** `dist/engine/runner/main.js`: what each runner process runs. */
  runner: string;
}

/** Compiles src/ into a new directory under .tmp/; the result's `remove` deletes it. */
export async function compileSource(): Promise<CompiledSource & { remove: () => Promise<void> }> {
  await mkdir(join(ROOT, ".tmp"), { recursive: true });
  // Under the repository, not os.tmpdir(): the compiled modules find node_modules by walking up.
  const root = await mkdtemp(join(ROOT, ".tmp", "test-dist-"));
  const remove = () => rm(root, { recursive: true, force: true });
  try {
    const src = join(ROOT, "src");
    const files = await readdir(src, { recursive: true });
    const entryPoints = files.filter((file) => file.endsWith(".ts")).map((file) => join(src, file));
    await build({
      entryPoints,
      outdir: join(root, "dist"),
      outbase: src,
      format: "esm",
      platform: "node",
      target: "node20",
      logLevel: "error",
    });
    // The entry points the child processes start with, bundled as `npm run build` bundles them.
    await bundleEntries(src, join(root, "dist"));
    // `"type": "module"` for the .js files, and the package.json src/package-paths.ts finds.
    await copyFile(join(ROOT, "package.json"), join(root, "package.json"));
    // The browser app where the compiled server looks for it (<package>/dist/web, see
    // src/server/routes/web/static.ts), for the end-to-end tests' `aixcl serve`.
    await viteBuild({
      root: join(ROOT, "web"),
      configFile: join(ROOT, "web", "vite.config.ts"),
      logLevel: "error",
      build: { outDir: join(root, "dist", "web"), emptyOutDir: true },
    });
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    root,
    cli: join(root, "dist", "cli", "main.js"),
    runner: join(root, "dist", "engine", "runner", "main.js"),
    remove,
  };
}

/** The run's compiled source (inside a test file; built by test/support/global-setup.ts). */
export function compiled(): CompiledSource {
  return inject("compiled");
}

/** The compiled module of a source file, e.g. `compiledModule("vault/vault.ts")`. */
export function compiledModule(sourcePath: string): string {
  return join(compiled().root, "dist", sourcePath.replace(/\.ts$/, ".js"));
}

/**
 * Warm runners shared by every engine a test worker process starts (files run one after another
 * in a worker: vitest.config.ts, isolate false), so most model loads skip a runner process's
 * start-up (~1–1.5 s of CPU, ~60 loads per run). Three cover a file that loads a few models at once.
 */
const POOL = Symbol.for("aixcl.test.runnerPool");
const sharedRunnerPool = ((globalThis as Record<symbol, unknown>)[POOL] ??= new RunnerPool(3)) as RunnerPool;

/**
 * Engine options for a platform a test starts: runners from the compiled source, taken from and
 * returned to the worker's pool, and no idle spare runner (each is one more llama.cpp start-up on
 * 2 shared cores) unless the test asks.
 */
export function testEngineOptions(spareRunner = false): {
  runnerEntry: string;
  spareRunner: boolean;
  runnerPool: RunnerPool;
} {
  return { runnerEntry: compiled().runner, spareRunner, runnerPool: sharedRunnerPool };
}
