import { defineConfig } from "vitest/config";
import BrowserFirstSequencer from "./test/support/sequencer.js";

// llama.cpp runners are CPU-bound and these machines have 2 cores: running test files
// two at a time keeps the suite fast without starving the runners (which makes streams time out).
export default defineConfig({
  test: {
    // web/src tests are the app's pure logic (no DOM): they run in Node like the rest.
    include: ["test/**/*.test.ts", "web/src/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    // Test files reuse their worker process instead of a fresh fork and module graph each: about
    // 2.4 s of start-up per file (380 s -> 290 s for the suite here). Every file owns its own
    // resources (temp homes, databases, servers on port 0); one that changes process-wide state
    // (process.env) must restore it in afterAll.
    isolate: false,
    testTimeout: 60_000,
    // expect.poll waits for what a browser or a server shows in its own time (a model loading
    // on two busy cores takes seconds): 1 s, vitest's default, makes such waits flaky.
    expect: { poll: { timeout: 20_000, interval: 50 } },
    hookTimeout: 120_000,
    globalSetup: ["test/support/global-setup.ts"],
    setupFiles: ["test/support/worker-setup.ts"],
    sequence: { sequencer: BrowserFirstSequencer },
  },
});
