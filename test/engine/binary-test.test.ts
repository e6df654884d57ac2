/**
 * node-llama-cpp's binary test (src/engine/runner/binary-test.ts): the first runner with given
 * settings lets node-llama-cpp test-load its binary in a subprocess; once it has loaded a model,
 * the next runner with the same settings skips that test and still loads and generates. A pass is
 * remembered in the cache directory (src/engine/runner/binary-memo.ts) for runners of any process;
 * a cache that is not ours counts as empty.
 */
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { binaryMemoPath } from "../../src/engine/runner/binary-memo.js";
import { RunnerProcess } from "../../src/engine/runner/client.js";
import type { LoadSpec, RunnerGenerateStats } from "../../src/engine/runner/protocol.js";
import { silentLogger } from "../../src/logger.js";
import { compiled } from "../support/build.js";
import { scriptedModel } from "../support/test-models.js";

let dir: string;
let entry: string;
let memoFile: string;
const cacheBefore = process.env.XDG_CACHE_HOME;
let modelPath: string;
const runners: RunnerProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-binary-test-"));
  // Runners remember tested binaries per entry path and GPU mode for the whole process: a path
  // of its own (a link to the compiled entry) makes this file's first runner a first one.
  entry = join(dir, "runner-main.js");
  await symlink(compiled().runner, entry);
  // A cache of this file's own (runners inherit the variable), empty at first.
  process.env.XDG_CACHE_HOME = join(dir, "cache");
  memoFile = binaryMemoPath();
  modelPath = await scriptedModel("hello", ["Hello", " world"]);
});

afterAll(async () => {
  if (cacheBefore === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = cacheBefore;
  await Promise.all(runners.map((runner) => runner.stop()));
  await rm(dir, { recursive: true, force: true });
});

/** A runner; `from`: another entry path, which this process has not seen load llama.cpp. */
async function start(from = entry): Promise<RunnerProcess> {
  if (from !== entry) await symlink(compiled().runner, from);
  const runner = new RunnerProcess({
    gpu: false,
    logger: silentLogger(),
    loadTimeoutMs: 60_000,
    entry: from,
  });
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
        usage: () => undefined,
      },
    );
  });
}

it("tests the binary in the first runner only, and the next runner still works", async () => {
  const first = await start();
  expect((await first.load({ ...spec, modelPath })).binaryTest).toBe("ran");

  const second = await start();
  expect((await second.load({ ...spec, modelPath })).binaryTest).toBe("skipped");
  expect(await answer(second)).toBe("Hello world");
  expect(await answer(first)).toBe("Hello world");
});

it("remembers a passed binary for runners of any process; a cache it cannot read counts as empty", async () => {
  const remembered = JSON.parse(await readFile(memoFile, "utf8")) as { passed: string[] };
  expect(remembered.passed).toHaveLength(1);
  // An entry path of its own: no runner of this process has loaded llama.cpp with it, so only the
  // cache can spare this one the test (as for a new server's first runner).
  const another = await start(join(dir, "another-server.js"));
  expect((await another.load({ ...spec, modelPath })).binaryTest).toBe("skipped");
  expect(await answer(another)).toBe("Hello world");

  await writeFile(memoFile, "not json");
  const afresh = await start(join(dir, "after-damage.js"));
  expect((await afresh.load({ ...spec, modelPath })).binaryTest).toBe("ran");
  expect(await answer(afresh)).toBe("Hello world");
  // The pass is written down again, in a file that parses.
  expect((JSON.parse(await readFile(memoFile, "utf8")) as { passed: string[] }).passed).toEqual(
    remembered.passed,
  );
});
