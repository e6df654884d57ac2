/**
 * `npm run build` (after tsc) and the test run's build (test/support/build.ts): bundles the two
 * entry points a process starts with, the `aixcl` command (which also runs the server) and a
 * llama.cpp runner. Node 20's ESM loader resolves, reads and links every module one by one:
 * a `serve` start loaded ~350 of them (aixcl's own and its pure-JS dependencies: zod alone is 95),
 * about 250 ms of a `serve --profile core` start (docs/architecture.md, What `npm run build`
 * makes). Code the CLI imports lazily (one command's) stays in chunks of its own, loaded only
 * when used.
 *
 * External (loaded from node_modules as before): packages with native code, WASM or files they
 * find beside their own modules, and those that load parts of themselves by name at run time,
 * except node-llama-cpp, bundled with its modules' own locations kept (nodeLlamaCppLocations
 * below). aixcl's code in the bundle finds the package's files through src/package-paths.ts,
 * never beside its own module.
 */
import { readdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

/** The entry points, relative to src/ without extension. */
const BUNDLED_ENTRIES = ["cli/main", "engine/runner/main"];

const EXTERNAL = [
  // node-llama-cpp's prebuilt binaries and native helpers, found by name at run time.
  "@node-llama-cpp/*",
  "@reflink/*",
  "*.node",
  // What node-llama-cpp imports only under Electron or in its model-inspection command.
  "electron",
  "typescript",
  "@electric-sql/pglite",
  "@electric-sql/pglite-socket",
  "@node-rs/argon2",
  "pg",
  "pino",
  "pino-pretty",
];

/** A module of the installed node-llama-cpp: group 1 is its path inside the package. */
const NODE_LLAMA_CPP_MODULE = /[\\/]node_modules[\\/]node-llama-cpp[\\/](dist[\\/].+\.js)$/;
const URL_HELPER = "aixcl:node-llama-cpp-url";

/**
 * node-llama-cpp is bundled too (importing it unbundled costs a runner ~0.5 s of CPU: ~200
 * modules), but its modules find their files beside themselves (`import.meta.url`): in its
 * modules that becomes the URL the module has in the installed package
 * (scripts/bundled-node-llama-cpp-url.ts).
 */
const nodeLlamaCppLocations: Plugin = {
  name: "node-llama-cpp-locations",
  setup(builder) {
    builder.onResolve({ filter: new RegExp(`^${URL_HELPER}$`) }, () => ({
      path: fileURLToPath(new URL("bundled-node-llama-cpp-url.ts", import.meta.url)),
    }));
    builder.onLoad({ filter: NODE_LLAMA_CPP_MODULE }, async (args) => {
      const file = NODE_LLAMA_CPP_MODULE.exec(args.path)?.[1]?.split(sep).join("/");
      const source = await readFile(args.path, "utf8");
      if (file === undefined || !source.includes("import.meta.url")) return undefined;
      const contents = source.replaceAll(
        "import.meta.url",
        `__aixclNodeLlamaCppUrl(${JSON.stringify(file)})`,
      );
      return {
        contents: `import { nodeLlamaCppUrl as __aixclNodeLlamaCppUrl } from "${URL_HELPER}";\n${contents}`,
        loader: "js",
      };
    });
  },
};

/** zod's module of every locale, and the one locale aixcl's messages use. */
const ZOD_LOCALES = /[\\/]node_modules[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/;

/**
 * zod's namespace (`z`) re-exports all ~60 of its locales, which a bundle cannot drop while the
 * namespace is used as an object: 366 KB of the 751 KB of zod that every command and the server
 * parse at start-up (~35 ms). aixcl uses none but English, the default, so the bundle's
 * `z.locales` holds that one.
 */
const zodEnglishOnly: Plugin = {
  name: "zod-english-only",
  setup(builder) {
    builder.onLoad({ filter: ZOD_LOCALES }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(join(dirname(args.path), "en.js"))};\n`,
      loader: "js",
    }));
  },
};

/**
 * Writes `<outDir>/cli/main.js`, `<outDir>/engine/runner/main.js` and their shared chunks
 * (`<outDir>/chunks/`) from the TypeScript in `srcDir`.
 */
export async function bundleEntries(srcDir: string, outDir: string): Promise<void> {
  const result = await build({
    entryPoints: BUNDLED_ENTRIES.map((entry) => join(srcDir, `${entry}.ts`)),
    outdir: outDir,
    outbase: srcDir,
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    plugins: [nodeLlamaCppLocations, zodEnglishOnly],
    // CommonJS dependencies in the bundle (commander, yaml, prom-client) call `require`.
    banner: {
      js: "import { createRequire as __aixclCreateRequire } from 'node:module'; const require = __aixclCreateRequire(import.meta.url);",
    },
    sourcemap: true,
    allowOverwrite: true,
    metafile: true,
    logLevel: "error",
  });
  // Chunk names carry a hash of their content: each rebuild writes new ones, and the earlier
  // builds' would pile up in the package (dist/ is what npm publishes). Removed once this build's
  // are written, so a command started meanwhile still finds every chunk it imports.
  const chunks = join(outDir, "chunks");
  const written = new Set(Object.keys(result.metafile.outputs).map((path) => resolve(path)));
  for (const name of await readdir(chunks)) {
    if (!written.has(resolve(chunks, name))) await rm(join(chunks, name), { force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  await bundleEntries(join(root, "src"), join(root, "dist"));
}
