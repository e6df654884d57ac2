/**
 * Where this package's own files are, however its code runs: the TypeScript under tsx or vitest
 * (`src/…`), the compiled modules, or the bundles of the entry points (scripts/bundle.ts), in
 * which a module's `import.meta.url` is its bundle's or chunk's, not its own file's. So nothing
 * looks for a file beside its module: the package is found once, by walking up from here to
 * aixcl's package.json, and every path is taken from it.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface PackageJson {
  name?: unknown;
  version?: unknown;
}

function findPackage(from: string): { root: string; json: PackageJson } {
  for (let dir = from; ; dir = dirname(dir)) {
    try {
      const json = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as PackageJson;
      if (json.name === "aixcl") return { root: dir, json };
    } catch {
      // No package.json here (or not one that parses): look further up.
    }
    if (dirname(dir) === dir) throw new Error(`aixcl's package.json is in no directory above ${from}`);
  }
}

const here = fileURLToPath(import.meta.url);
const found = findPackage(dirname(here));

/** The package's directory: package.json, dist/ (what the build makes), src/ in a checkout. */
export const PACKAGE_ROOT = found.root;

/** package.json's version. */
export const PACKAGE_VERSION = typeof found.json.version === "string" ? found.json.version : "0.0.0";

/** True under tsx or vitest: the entry points are TypeScript in src/, run with tsx's loader. */
export const FROM_SOURCE = here.endsWith(".ts");

/** An entry point a process is started with, e.g. "cli/main": src/cli/main.ts from source, else dist/cli/main.js. */
export function entryPoint(path: string): string {
  return FROM_SOURCE ? join(PACKAGE_ROOT, "src", `${path}.ts`) : join(PACKAGE_ROOT, "dist", `${path}.js`);
}

/** A file or directory the build puts in dist/ (the web app, the database template). */
export function builtPath(...parts: string[]): string {
  return join(PACKAGE_ROOT, "dist", ...parts);
}
