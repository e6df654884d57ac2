import { describe, expect, it } from "vitest";
import { mapOllamaOptions, withModelDefaults } from "../../src/engine/inference/options.js";
import { thrownAppError } from "../support/app-error.js";

describe("mapOllamaOptions", () => {
  it("maps every Ollama option to sampling or load settings", () => {
    const mapped = mapOllamaOptions({
      num_keep: 4,
      seed: 42,
      num_predict: 64,
      top_k: 20,
      top_p: 0.9,
      min_p: 0.05,
      typical_p: 0.7,
      repeat_last_n: 32,
      temperature: 0.2,
      repeat_penalty: 1.1,
      presence_penalty: 0.5,
      frequency_penalty: 0.25,
      stop: ["\n\n", "User:"],
      num_ctx: 1024,
      num_batch: 128,
      num_gpu: 0,
      main_gpu: 0,
      use_mmap: false,
      num_thread: 2,
    });
    expect(mapped.sampling).toEqual({
      numKeep: 4,
      seed: 42,
      maxTokens: 64,
      topK: 20,
      topP: 0.9,
      minP: 0.05,
      typicalP: 0.7,
      repeatLastN: 32,
      temperature: 0.2,
      repeatPenalty: 1.1,
      presencePenalty: 0.5,
      frequencyPenalty: 0.25,
      stop: ["\n\n", "User:"],
    });
    expect(mapped.load).toEqual({ numCtx: 1024, numBatch: 128, numGpu: 0, useMmap: false, numThread: 2 });
  });

  it("ignores unknown keys and nulls, truncates float integers like Go, drops default sentinels", () => {
    const mapped = mapOllamaOptions({
      mirostat: 2,
      not_an_option: "x",
      temperature: null,
      top_k: 7.9,
      num_predict: -1,
      num_gpu: -1,
      num_thread: 0,
    });
    expect(mapped.sampling).toEqual({ topK: 7, maxTokens: -1 });
    expect(mapped.load).toEqual({});
    expect(mapOllamaOptions(undefined)).toEqual({ sampling: {}, load: {} });
  });

  it.each([
    ["top_k", "5", 'option "top_k" must be of type integer'],
    ["temperature", "hot", 'option "temperature" must be of type float32'],
    ["use_mmap", "true", 'option "use_mmap" must be of type boolean'],
    ["stop", "\n", 'option "stop" must be of type array'],
    ["stop", ["a", 1], 'option "stop" must be of an array of strings'],
    ["num_ctx", true, 'option "num_ctx" must be of type integer'],
  ])("rejects %s = %j as invalid_request naming the option", (key, value, message) => {
    const error = thrownAppError(() => mapOllamaOptions({ [key]: value }));
    expect(error.code).toBe("invalid_request");
    expect(error.status).toBe(400);
    expect(error.message).toBe(message);
    expect(error.param).toBe(`options.${key}`);
  });

  it("rejects options that are not an object", () => {
    expect(thrownAppError(() => mapOllamaOptions([1, 2])).code).toBe("invalid_request");
    expect(thrownAppError(() => mapOllamaOptions("x")).code).toBe("invalid_request");
  });
});

describe("withModelDefaults", () => {
  it("puts the model's params under the request's values", () => {
    const params = { stop: ["world"], temperature: 0.1, num_ctx: 512 };
    const unset = withModelDefaults({ sampling: {}, load: {} }, params);
    expect(unset.sampling).toEqual({ stop: ["world"], temperature: 0.1 });
    expect(unset.load).toEqual({ numCtx: 512 });

    const set = withModelDefaults(
      { sampling: { stop: ["x"], temperature: undefined, seed: 3 }, load: { numCtx: 2048 } },
      params,
    );
    expect(set.sampling).toEqual({ stop: ["x"], temperature: 0.1, seed: 3 });
    expect(set.load).toEqual({ numCtx: 2048 });
  });

  it("fails on a params layer value of the wrong type", () => {
    expect(thrownAppError(() => withModelDefaults({ sampling: {}, load: {} }, { top_p: "high" })).code).toBe(
      "invalid_request",
    );
  });
});
