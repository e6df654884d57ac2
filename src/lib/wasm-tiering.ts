/**
 * Imported for its effect, first thing in every `aixcl` command and server (src/cli/main.ts), and
 * by the PGlite module (src/store/pglite.ts, for processes that start elsewhere, such as tests).
 * Runners run no WebAssembly.
 *
 * V8 runs WebAssembly on its baseline compiler first and recompiles each function with its
 * optimizing compiler once the function has run enough (dynamic tiering, a budget of ~1.8 MB of
 * code executed per function by default). With a budget ~550 times larger only code that keeps
 * running, such as a long query's inner loops, is recompiled:
 * - PGlite: a database's start runs hundreds of functions just past the default budget, and
 *   waiting on their optimizing compiles stalled a server's start by 0.2–0.3 s. Interleaved runs
 *   of `aixcl serve` (sys, existing home) listened after 1.24–1.53 s instead of 1.52–1.98 s. Small
 *   queries cost the same; an aggregate over 200k rows costs 10–30 % more until its loops tier up.
 * - undici's HTTP parser (llhttp, WebAssembly), which every `fetch` uses: a command that polls
 *   the server (`stack start` waiting for it to be healthy) made its functions hot, and the
 *   process's exit waited for their optimizing compiles: `stack start` ended 120–160 ms after its
 *   last line was printed, ~20 ms with the larger budget.
 * It applies to WebAssembly compiled after it is set.
 */
import { setFlagsFromString } from "node:v8";

setFlagsFromString("--wasm-tiering-budget=1000000000");
