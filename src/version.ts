import { readFileSync } from "node:fs";

/**
 * aixcl's version, read once from package.json. The file is one level up from both src/ (tsx)
 * and dist/ (built), so one relative URL serves both layouts.
 */
function readPackageVersion(): string {
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  const parsed = JSON.parse(text) as { version?: unknown };
  return typeof parsed.version === "string" ? parsed.version : "0.0.0";
}

export const VERSION: string = readPackageVersion();
