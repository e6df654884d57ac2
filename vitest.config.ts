import { defineConfig } from "vitest/config";

// llama.cpp runners are CPU-bound and these machines have 2 cores: running test files
// two at a time keeps the suite fast without starving the runners (which makes streams time out).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ["test/support/global-setup.ts"],
  },
});
