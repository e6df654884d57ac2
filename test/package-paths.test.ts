import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { builtPath, entryPoint, FROM_SOURCE, PACKAGE_ROOT, PACKAGE_VERSION } from "../src/package-paths.js";
import { compiled, ROOT } from "./support/build.js";

describe("package paths", () => {
  it("from source: the checkout, its TypeScript entry points and its dist/", () => {
    expect(PACKAGE_ROOT).toBe(ROOT.replace(/\/$/, ""));
    expect(FROM_SOURCE).toBe(true);
    expect(PACKAGE_VERSION).toBe(
      (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version,
    );
    expect(entryPoint("cli/main")).toBe(join(ROOT, "src", "cli", "main.ts"));
    expect(builtPath("web")).toBe(join(ROOT, "dist", "web"));
  });

  it("built: the command is a bundle over chunks, and finds its package.json from there", async () => {
    const main = readFileSync(compiled().cli, "utf8");
    // A bundle: aixcl's own modules are in chunks, not imported one by one.
    expect(main).toMatch(/from "\.\.\/chunks\/chunk-[A-Z0-9]+\.js"/);
    expect(main).not.toMatch(/from "\.\/program\.js"/);
    const { stdout } = await promisify(execFile)(process.execPath, [compiled().cli, "--version"]);
    expect(stdout.trim()).toBe(PACKAGE_VERSION);
  });
});
