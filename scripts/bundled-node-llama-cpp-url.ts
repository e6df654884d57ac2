/**
 * Bundled into the runner by scripts/bundle.ts in place of `import.meta.url` in node-llama-cpp's
 * own modules: node-llama-cpp finds its binaries, its `llama/` directory and its package.json
 * beside its modules, so inside the bundle each of its modules still gets the URL it has in the
 * installed package. The package is found the way Node finds it from the bundle (node_modules
 * beside or above it, hoisted or not).
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

let packageRoot: string | undefined;

/** The URL of `file` (e.g. `dist/config.js`) in the installed node-llama-cpp package. */
export function nodeLlamaCppUrl(file: string): string {
  // `require.resolve` gives <package>/dist/index.js (its "node" export).
  packageRoot ??= dirname(dirname(createRequire(import.meta.url).resolve("node-llama-cpp")));
  return pathToFileURL(join(packageRoot, file)).href;
}
