#!/usr/bin/env node
// First: V8 settings every process of aixcl runs with (see the module).
import "../lib/wasm-tiering.js";
import { toleratePipes } from "./output.js";
import { runAixcl } from "./program.js";

toleratePipes();

// The only place that exits: commands return their status to runAixcl (src/cli/program.ts).
process.exit(await runAixcl(process.argv));
