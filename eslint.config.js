import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { layersConfig } from "./eslint-rules/import-layers.js";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/restrict-template-expressions": ["error", { allowNumber: true }],
    },
  },
  // Which folder of src/ may import which: eslint-rules/import-layers.js, docs/architecture.md.
  layersConfig,
  // Commands run in-process too (the tests, src/cli/program.ts): their stdio and environment are
  // the run's, from cliIo() (src/cli/io.ts), never the process's.
  {
    files: ["src/cli/**/*.ts"],
    ignores: ["src/cli/io.ts"],
    rules: {
      "no-restricted-properties": [
        "error",
        ...["stdin", "stdout", "stderr", "env"].map((property) => ({
          object: "process",
          property,
          message: "use cliIo() (src/cli/io.ts): a command's streams and environment are its run's",
        })),
      ],
    },
  },
  {
    files: ["eslint.config.js", "eslint-rules/*.js"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
