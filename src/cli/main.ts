#!/usr/bin/env node
import { runAixcl } from "./program.js";

// The only place that exits: commands return their status to runAixcl (src/cli/program.ts).
process.exit(await runAixcl(process.argv));
