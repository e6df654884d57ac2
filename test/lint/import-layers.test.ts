/**
 * The import-boundary rule (eslint-rules/import-layers.js, docs/architecture.md): wrong-way imports
 * fail, allowed ones pass. Linted without type information, on snippets given file names under
 * src/, so the whole file takes well under a second; the last test checks that `npm run lint`
 * (eslint.config.js) applies the same rule to every file of src/.
 */
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import { layersConfig, layerOf } from "../../eslint-rules/import-layers.js";

const ROOT = new URL("../..", import.meta.url).pathname;

const eslint = new ESLint({
  cwd: ROOT,
  overrideConfigFile: true,
  overrideConfig: [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser } }, layersConfig],
});

/** The boundary errors of `code` linted as if it were the file `filePath`. */
async function boundaryErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  const messages = result?.messages ?? [];
  // Anything else (a parse error) would make an empty list meaningless.
  expect(messages.filter((m) => m.ruleId !== "layers/imports")).toEqual([]);
  return messages.map((m) => m.message);
}

describe("layers/imports", () => {
  it("refuses a lower layer importing a higher one, naming both files and what is allowed", async () => {
    const errors = await boundaryErrors(
      "src/store/x.ts",
      'import { createServer } from "../server/create-server.js";\n',
    );
    expect(errors).toEqual([
      "src/store/x.ts (store) must not import src/server/create-server.ts (server): store may import only base; see docs/architecture.md",
    ]);
  });

  it("counts type-only imports, export-from, import() and typeof import() as imports", async () => {
    const code = [
      'import type { Principal } from "../auth/types.js";',
      'export { createUser } from "../auth/users.js";',
      'export * from "../auth/sessions.js";',
      'const users = await import("../auth/users.js");',
      'type Start = typeof import("../server/start.js");',
      "export type { Start };",
      "export { users };",
    ].join("\n");
    const errors = await boundaryErrors("src/vault/x.ts", code);
    expect(errors).toHaveLength(5);
    for (const error of errors)
      expect(error).toMatch(/^src\/vault\/x\.ts \(vault\) must not import src\/(auth|server)\//);
  });

  it("keeps chat/ below the server: it owns answers, not HTTP, metrics or identity", async () => {
    const code = [
      'import "../server/streaming.js";',
      'import "../metrics/types.js";',
      'import "../auth/users.js";',
    ].join("\n");
    const errors = await boundaryErrors("src/chat/x.ts", code);
    expect(errors).toHaveLength(3);
    for (const error of errors) expect(error).toContain("chat may import only base, store, engine, models");
    expect(await boundaryErrors("src/store/x.ts", 'import "../chat/service.js";\n')).toEqual([
      expect.stringContaining("(store) must not import src/chat/service.ts (chat)"),
    ]);
  });

  it("keeps deploy/ above metrics only: file generators, imported by the CLI alone", async () => {
    expect(await boundaryErrors("src/deploy/x.ts", 'import "../metrics/monitoring.js";\n')).toEqual([]);
    const errors = await boundaryErrors(
      "src/deploy/x.ts",
      'import "../server/start.js";\nimport "../store/db.js";\n',
    );
    expect(errors).toHaveLength(2);
    for (const error of errors) expect(error).toContain("deploy may import only base, metrics");
    expect(
      await boundaryErrors("src/cli/commands/stack/x.ts", 'import "../../../deploy/compose.js";\n'),
    ).toEqual([]);
    expect(await boundaryErrors("src/server/x.ts", 'import "../deploy/compose.js";\n')).toEqual([
      expect.stringContaining("(server) must not import src/deploy/compose.ts (deploy)"),
    ]);
  });

  it("refuses an import() it cannot check", async () => {
    const errors = await boundaryErrors("src/engine/x.ts", "const name = './y.js';\nawait import(name);\n");
    expect(errors).toEqual([expect.stringContaining("computed specifier")]);
  });

  it("keeps api/ to the base layer: no models/ or store/ types in wire schemas", async () => {
    const errors = await boundaryErrors(
      "src/api/x.ts",
      'import type { ModelDetails } from "../models/types.js";\n',
    );
    expect(errors).toEqual([expect.stringContaining("(api) must not import src/models/types.ts (models)")]);
  });

  it("lets the CLI load the platform entry of server/ and nothing else there", async () => {
    const file = "src/cli/commands/serve.ts";
    expect(
      await boundaryErrors(file, 'const s = await import("../../server/start.js");\nexport { s };\n'),
    ).toEqual([]);
    expect(await boundaryErrors(file, 'import "../../server/create-server.js";\n')).toEqual([
      expect.stringContaining(
        "cli may import only base, models, engine, metrics, store, vault, auth, platform, backup, api, deploy, src/server/start.ts",
      ),
    ]);
  });

  it("refuses a command importing another command's files, and non-entry cli modules importing commands", async () => {
    expect(
      await boundaryErrors("src/cli/commands/keys.ts", 'import { table } from "./models/list.js";\n'),
    ).toEqual([expect.stringContaining("a command imports no other command's files")]);
    expect(
      await boundaryErrors(
        "src/cli/commands/db/shell.ts",
        'import "./open.js";\nimport "../../format.js";\n',
      ),
    ).toEqual([]);
    expect(await boundaryErrors("src/cli/connection.ts", 'import "./commands/run.js";\n')).toEqual([
      expect.stringContaining("only src/cli/program.ts imports commands"),
    ]);
    expect(await boundaryErrors("src/cli/program.ts", 'import "./commands/run.js";\n')).toEqual([]);
  });

  it("allows the downward directions of the table", async () => {
    const allowed: [string, string][] = [
      ["src/auth/x.ts", "../store/roles.js"],
      ["src/platform/x.ts", "../auth/users.js"],
      ["src/backup/x.ts", "../vault/files.js"],
      ["src/engine/x.ts", "../models/types.js"],
      ["src/metrics/x.ts", "../engine/types.js"],
      ["src/server/routes/x.ts", "../../backup/backup.js"],
      ["src/server/routes/x.ts", "../../chat/service.js"],
      ["src/chat/x.ts", "../store/messages.js"],
      ["src/chat/x.ts", "../engine/inference/types.js"],
      ["src/chat/x.ts", "../models/types.js"],
      ["src/config/x.ts", "../errors.js"],
      ["src/store/x.ts", "zod"],
    ];
    for (const [file, specifier] of allowed) {
      expect(await boundaryErrors(file, `import "${specifier}";\n`), `${file} -> ${specifier}`).toEqual([]);
    }
  });

  it("places every file in a layer, and refuses files in none", async () => {
    expect(layerOf("errors.ts")).toBe("base");
    expect(layerOf("config/load.ts")).toBe("base");
    expect(layerOf("store/backup.ts")).toBe("store");
    expect(layerOf("store.ts")).toBeUndefined();
    expect(await boundaryErrors("src/newthing/x.ts", "export const x = 1;\n")).toEqual([
      expect.stringContaining("src/newthing/x.ts is in no layer"),
    ]);
    expect(await boundaryErrors("src/server/x.ts", 'import "../newthing/y.js";\n')).toEqual([
      expect.stringContaining("src/newthing/y.ts is in no layer"),
    ]);
  });

  it("is part of npm run lint for every file of src/", async () => {
    const project = new ESLint({ cwd: ROOT });
    for (const file of ["src/store/types.ts", "src/cli/main.ts", "src/server/start.ts"]) {
      const config = (await project.calculateConfigForFile(file)) as { rules?: Record<string, unknown> };
      expect(config.rules?.["layers/imports"], file).toEqual([2]);
    }
  });
});
