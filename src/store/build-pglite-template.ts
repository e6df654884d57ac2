/**
 * `npm run build` runs this (as dist/store/build-pglite-template.js) after compiling: it makes
 * the migrated database template a home's first start copies (see pglite-template.ts), fresh each
 * build so it always holds the migrations of the code beside it.
 */
import { rm } from "node:fs/promises";
import { createPgliteTemplate } from "./open.js";
import { PGLITE_TEMPLATE_DIR } from "./pglite-template.js";

await rm(PGLITE_TEMPLATE_DIR, { recursive: true, force: true });
await createPgliteTemplate(PGLITE_TEMPLATE_DIR);
