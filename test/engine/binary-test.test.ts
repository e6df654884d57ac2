/**
 * node-llama-cpp's binary test (src/engine/runner/binary-test.ts): the first runner with given
 * settings lets node-llama-cpp test-load its binary in a subprocess; once it has loaded a model,
 * the next runner with the same settings skips that test and still loads and generates.
 */
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RunnerProcess } from "../../src/engine/runner/client.js";
import type { LoadSpec, RunnerGenerateStats } from "../../src/engine/runner/protocol.js";
import { silentLogger } from "../../src/logger.js";
import { compiled } from "../support/build.js";
import { scriptedModel } from "../support/test-models.js";

let dir: string;
let entry: string;
let modelPath: string;
const runners: RunnerProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-binary-test-"));
  // Runners remember tested binaries per entry path and GPU mode for the whole process: a path
  // of its own (a link to the compiled entry) makes this file's first runner a first one.
  entry = join(dir, "runner-main.js");
  await symlink(compiled().runner, entry);
  modelPath = await scriptedModel("hello", ["Hello", " world"]);
});

afterAll(async () => {
  await Promise.all(runners.map((runner) => runner.stop()));
  await rm(dir, { recursive: true, force: true });
});

function start(): RunnerProcess {
  const runner = new RunnerProcess({ gpu: false, logger: silentLogger(), loadTimeoutMs: 60_000, entry });
  runners.push(runner);
  return runner;
}

const spec: LoadSpec = {
  modelPath: "",
  numCtx: 256,
  numParallel: 1,
  threads: 1,
  gpu: false,
  kvCacheType: "f16",
  flashAttention: "auto",
};

function answer(runner: RunnerProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    runner.generate(
      { prompt: "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", sampling: {} },
      {
        text: (piece) => (text += piece),
        done: (_stats: RunnerGenerateStats) => resolve(text),
        fail: reject,
      },
    );
  });
}

it("tests the binary in the first runner only, and the next runner still works", async () => {
  const first = start();
  expect((await first.load({ ...spec, modelPath })).binaryTest).toBe("ran");

  const second = start();
  expect((await second.load({ ...spec, modelPath })).binaryTest).toBe("skipped");
  expect(await answer(second)).toBe("Hello world");
  expect(await answer(first)).toBe("Hello world");
});
