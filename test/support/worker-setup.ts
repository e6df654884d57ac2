/**
 * Vitest setup file, run in each worker before each test file: the source's first starts copy the
 * run's migrated template (test/support/pglite-template.ts), as the built package's do
 * (src/store/pglite-template.ts), instead of creating a cluster (~6 s of CPU each).
 */
import { inject } from "vitest";
import { useFirstStartTemplate } from "../../src/store/pglite-template.js";

useFirstStartTemplate(inject("pgliteTemplate").dataDir);
