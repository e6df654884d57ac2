import { PACKAGE_VERSION } from "./package-paths.js";

/** aixcl's version, from package.json (found by src/package-paths.ts). */
export const VERSION: string = PACKAGE_VERSION;
