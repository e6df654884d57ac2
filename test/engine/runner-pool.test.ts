/**
 * Warm runners (src/engine/runner/pool.ts): an unloaded model's runner frees the model and waits
 * in the pool; the next load, in the same engine or another one, reuses that process and
 * generates the new model's text. Crashed runners are never pooled, and a full pool stops extras.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { configSchema } from "../../src/config/schema.js";
import { createEngine } from "../../src/engine/create-engine.js";
import { processAlive } from "../../src/lib/processes.js";
import { RunnerPool } from "../../src/engine/runner/pool.js";
import type { Engine, GenerateRequest } from "../../src/engine/types.js";
import { silentLogger } from "../../src/logger.js";
import type { ModelRecord } from "../../src/models/types.js";
import { compiled } from "../support/build.js";
import { testRecord } from "../support/model-record.js";
import { scriptedModel } from "../support/test-models.js";

let dir: string;
let hello: ModelRecord;
let bye: ModelRecord;
const pool = new RunnerPool(1);
const engines: Engine[] = [];

function engine(): Engine {
  const config = configSchema.parse({ home: dir, engine: { threads: 1, max_loaded_models: 2 } });
  const created = createEngine({
    config,
    logger: silentLogger(),
    spareRunner: false,
    runnerEntry: compiled().runner,
    runnerPool: pool,
  });
  engines.push(created);
  return created;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "aixcl-runner-pool-"));
  hello = testRecord("hello", await scriptedModel("hello", ["Hello", " world"]));
  bye = testRecord("bye", await scriptedModel("bye", ["Good", "bye"]));
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

const request = (model: ModelRecord): GenerateRequest => ({
  model,
  prompt: "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n",
  sampling: {},
  load: {},
});

async function text(e: Engine, model: ModelRecord): Promise<string> {
  let out = "";
  for await (const event of e.generate(request(model))) if (event.type === "text") out += event.text;
  return out;
}

const pidOf = (e: Engine, model: ModelRecord): number | undefined =>
  e.loaded().find((m) => m.model.name === model.name)?.pid;

it("reuses an unloaded model's runner for the next model, in another engine too", async () => {
  const first = engine();
  expect(await text(first, hello)).toBe("Hello world");
  const pid = pidOf(first, hello);
  expect(pid).toBeGreaterThan(0);

  await first.unload(hello.name);
  expect(first.loaded()).toEqual([]);
  expect(processAlive(pid ?? 0)).toBe(true);

  // The same process now serves another model, with that model's output.
  expect(await text(first, bye)).toBe("Goodbye");
  expect(pidOf(first, bye)).toBe(pid);

  // Closing the engine pools its runner; a second engine picks it up.
  await first.close();
  expect(processAlive(pid ?? 0)).toBe(true);
  const second = engine();
  expect(await text(second, hello)).toBe("Hello world");
  expect(pidOf(second, hello)).toBe(pid);

  // Two runners at once with room for one in the pool: closing keeps one, stops the other.
  expect(await text(second, bye)).toBe("Goodbye");
  const other = pidOf(second, bye) ?? 0;
  expect(other).not.toBe(pid);
  await second.close();
  await expect.poll(() => [processAlive(pid ?? 0), processAlive(other)].filter(Boolean).length).toBe(1);
});

it("never pools a runner that crashed", async () => {
  const e = engine();
  expect(await text(e, hello)).toBe("Hello world");
  const pid = pidOf(e, hello) ?? 0;
  process.kill(pid, "SIGKILL");
  await expect.poll(() => e.loaded().length).toBe(0);
  expect(await text(e, hello)).toBe("Hello world");
  expect(pidOf(e, hello)).not.toBe(pid);
});
