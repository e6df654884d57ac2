import { readFileSync } from "node:fs";

/**
 * aixcl's version from package.json. The file sits two levels up from both src/cli/ (tsx) and
 * dist/cli/ (built), so one relative URL serves both.
 */
export function readVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  const parsed = JSON.parse(text) as { version?: unknown };
  return typeof parsed.version === "string" ? parsed.version : "0.0.0";
}
