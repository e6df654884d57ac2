/**
 * `layers/imports`: which folder of src/ may import which (docs/architecture.md draws it).
 *
 * Every file under src/ belongs to one layer (the table below). An import of another layer is
 * allowed only when that layer is in the importer's `may` list; a layer always imports itself.
 * Checked: `import` and `import type`, `export … from`, `import()` expressions (a specifier that
 * is not a string literal is an error: it cannot be checked), `typeof import("…")` in types and
 * `import x = require("…")`. A type-only import counts as much as any other: a cycle of types is
 * still a cycle between folders. Package imports (`zod`, `node:fs`) are not checked.
 *
 * Two rules inside cli/: a command (`cli/commands/<name>.ts` or `cli/commands/<name>/`) imports
 * no other command's files — shared helpers live in their own modules in cli/ — and only
 * `cli/program.ts` imports commands.
 */
import path from "node:path";

/**
 * The layers, bottom up (what each owns: docs/architecture.md). `dirs`/`files` are relative to
 * src/ (a layer without them is the folder of its name); `may` lists the layers it may import;
 * `entries` opens single files of a layer it may not otherwise import.
 */
export const LAYERS = {
  base: {
    files: ["errors.ts", "logger.ts", "package-paths.ts", "version.ts"],
    dirs: ["config", "lib"],
    may: [],
  },
  models: { may: ["base"] },
  engine: { may: ["base", "models"] },
  metrics: { may: ["base", "engine"] },
  store: { may: ["base"] },
  vault: { may: ["base"] },
  auth: { may: ["base", "store"] },
  platform: { may: ["base", "store", "vault", "auth"] },
  backup: { may: ["base", "store", "vault"] },
  api: { may: ["base"] },
  chat: { may: ["base", "store", "engine", "models"] },
  deploy: { may: ["base", "metrics"] },
  server: {
    may: [
      "base",
      "models",
      "engine",
      "metrics",
      "store",
      "vault",
      "auth",
      "platform",
      "backup",
      "api",
      "chat",
    ],
  },
  cli: {
    may: [
      "base",
      "models",
      "engine",
      "metrics",
      "store",
      "vault",
      "auth",
      "platform",
      "backup",
      "api",
      "deploy",
    ],
    // `aixcl serve` starts the platform: the one file of server/ the CLI may load.
    entries: { server: ["server/start.ts"] },
  },
};

const DOC = "see docs/architecture.md";

/** The layer of a path relative to src/ (`/`-separated), or undefined. */
export function layerOf(relative) {
  const [top] = relative.split("/");
  for (const [name, layer] of Object.entries(LAYERS)) {
    if (layer.files?.includes(relative)) return name;
    if (layer.dirs ? layer.dirs.includes(top) : top === name && relative.includes("/")) return name;
  }
  return undefined;
}

/** `cli/commands/<name>…` → `<name>` (a file command without its extension); else undefined. */
function commandOf(relative) {
  const match = /^cli\/commands\/([^/]+?)(?:\.[jt]s)?(?:\/|$)/.exec(relative);
  return match?.[1];
}

/** The TypeScript source a relative specifier names (`./x.js` → `x.ts`). */
function sourcePath(relative) {
  return relative.replace(/\.js$/, ".ts");
}

/** @type {import("eslint").Rule.RuleModule} */
const importsRule = {
  meta: {
    type: "problem",
    docs: { description: "enforce the import direction between the folders of src/" },
    schema: [{ type: "object", properties: { root: { type: "string" } }, additionalProperties: false }],
    messages: {
      layer:
        "{{from}} ({{fromLayer}}) must not import {{to}} ({{toLayer}}): {{fromLayer}} may import only {{allowed}}; " +
        DOC,
      unknown: "{{file}} is in no layer of the import-layers table: add its folder there and to " + DOC,
      command:
        "{{from}} must not import {{to}}: a command imports no other command's files; move what both use to a module in src/cli/ ({{doc}})",
      commandEntry: "{{from}} must not import {{to}}: only src/cli/program.ts imports commands ({{doc}})",
      dynamic:
        "import() with a computed specifier cannot be checked against the layers; use a string literal",
      outside: "{{from}} must not import {{to}}, which is outside src/",
    },
  },
  create(context) {
    const root = path.resolve(context.cwd, context.options[0]?.root ?? "src");
    const file = path.resolve(context.cwd, context.filename);
    const from = path.relative(root, file).split(path.sep).join("/");
    if (from.startsWith("../") || path.isAbsolute(from)) return {};
    const fromLayer = layerOf(from);
    // A file in no layer is reported once, imports or not; its imports are not checked further.
    if (fromLayer === undefined) {
      return {
        Program(node) {
          context.report({ node, messageId: "unknown", data: { file: `src/${from}` } });
        },
      };
    }

    const check = (node, specifier) => {
      if (!specifier.startsWith("./") && !specifier.startsWith("../")) return;
      const target = path.resolve(path.dirname(file), specifier);
      const to = sourcePath(path.relative(root, target).split(path.sep).join("/"));
      const show = { from: `src/${from}`, to: `src/${to}`, doc: DOC };
      if (to.startsWith("../")) {
        context.report({ node, messageId: "outside", data: { ...show, to: specifier } });
        return;
      }
      const toLayer = layerOf(to);
      if (toLayer === undefined) {
        context.report({ node, messageId: "unknown", data: { file: `src/${to}` } });
        return;
      }
      if (fromLayer === "cli" && toLayer === "cli") {
        const fromCommand = commandOf(from);
        const toCommand = commandOf(to);
        if (toCommand !== undefined && fromCommand === undefined && from !== "cli/program.ts") {
          context.report({ node, messageId: "commandEntry", data: show });
        } else if (toCommand !== undefined && fromCommand !== undefined && toCommand !== fromCommand) {
          context.report({ node, messageId: "command", data: show });
        }
        return;
      }
      if (fromLayer === toLayer) return;
      const layer = LAYERS[fromLayer];
      if (layer.may.includes(toLayer)) return;
      if (layer.entries?.[toLayer]?.includes(to)) return;
      const entries = Object.values(layer.entries ?? {}).flat();
      const allowed = [...layer.may, ...entries.map((entry) => `src/${entry}`)];
      context.report({
        node,
        messageId: "layer",
        data: { ...show, fromLayer, toLayer, allowed: allowed.length > 0 ? allowed.join(", ") : "itself" },
      });
    };

    const literal = (node) => {
      if (node?.type === "Literal" && typeof node.value === "string") return node.value;
      if (node?.type === "TemplateLiteral" && node.expressions.length === 0)
        return node.quasis[0].value.cooked;
      return undefined;
    };
    const fromSource = (node) => {
      if (node.source) check(node.source, node.source.value);
    };

    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression(node) {
        const specifier = literal(node.source);
        if (specifier === undefined) context.report({ node, messageId: "dynamic" });
        else check(node.source, specifier);
      },
      // `typeof import("../x.js")` and `import("../x.js").T` in type positions.
      TSImportType(node) {
        const argument = node.source ?? node.argument;
        const specifier = literal(argument?.literal ?? argument);
        if (specifier !== undefined) check(node, specifier);
      },
      TSExternalModuleReference(node) {
        const specifier = literal(node.expression);
        if (specifier !== undefined) check(node, specifier);
      },
    };
  },
};

export const layersPlugin = { meta: { name: "aixcl-layers" }, rules: { imports: importsRule } };

/** The flat-config block that applies the rule to src/ (eslint.config.js and its test use it). */
export const layersConfig = {
  files: ["src/**/*.ts"],
  plugins: { layers: layersPlugin },
  rules: { "layers/imports": "error" },
};
