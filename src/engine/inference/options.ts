import { AppError } from "../../errors.js";
import type { LoadOptions, SamplingOptions } from "../types.js";

/** Ollama `options` split into what shapes sampling and what shapes a loaded instance. */
export interface MappedOptions {
  sampling: SamplingOptions;
  load: LoadOptions;
}

type Kind = "integer" | "float" | "boolean" | "strings";

type Target =
  | { kind: Kind; sampling: keyof SamplingOptions }
  | { kind: Kind; load: keyof LoadOptions }
  // Accepted and type-checked like Ollama, but with no effect here (e.g. main_gpu on a CPU build).
  | { kind: Kind; ignored: true };

/** Ollama option name → type and destination (api/types.go `Options` + `Runner`). */
const OPTIONS: Readonly<Record<string, Target>> = {
  num_keep: { kind: "integer", sampling: "numKeep" },
  seed: { kind: "integer", sampling: "seed" },
  num_predict: { kind: "integer", sampling: "maxTokens" },
  top_k: { kind: "integer", sampling: "topK" },
  top_p: { kind: "float", sampling: "topP" },
  min_p: { kind: "float", sampling: "minP" },
  typical_p: { kind: "float", sampling: "typicalP" },
  repeat_last_n: { kind: "integer", sampling: "repeatLastN" },
  temperature: { kind: "float", sampling: "temperature" },
  repeat_penalty: { kind: "float", sampling: "repeatPenalty" },
  presence_penalty: { kind: "float", sampling: "presencePenalty" },
  frequency_penalty: { kind: "float", sampling: "frequencyPenalty" },
  stop: { kind: "strings", sampling: "stop" },
  num_ctx: { kind: "integer", load: "numCtx" },
  num_batch: { kind: "integer", load: "numBatch" },
  num_gpu: { kind: "integer", load: "numGpu" },
  main_gpu: { kind: "integer", ignored: true },
  use_mmap: { kind: "boolean", load: "useMmap" },
  num_thread: { kind: "integer", load: "numThread" },
};

const TYPE_NAMES: Readonly<Record<Kind, string>> = {
  integer: "integer",
  float: "float32",
  boolean: "boolean",
  strings: "array",
};

function convert(key: string, kind: Kind, value: unknown): number | boolean | string[] {
  // Ollama's wording, including its "must be of an array of strings".
  const wrongType = (what = `type ${TYPE_NAMES[kind]}`) =>
    new AppError("invalid_request", `option "${key}" must be of ${what}`, { param: `options.${key}` });
  switch (kind) {
    case "integer":
      if (typeof value !== "number" || !Number.isFinite(value)) throw wrongType();
      // JSON numbers arrive as floats; Go's int64(float64) truncates toward zero.
      return Math.trunc(value);
    case "float":
      if (typeof value !== "number" || !Number.isFinite(value)) throw wrongType();
      return value;
    case "boolean":
      if (typeof value !== "boolean") throw wrongType();
      return value;
    case "strings":
      if (!Array.isArray(value)) throw wrongType();
      if (!value.every((item) => typeof item === "string")) throw wrongType("an array of strings");
      return value;
  }
}

/**
 * Maps Ollama `options` (also a model's params layer, which uses the same names) the way Ollama's
 * `Options.FromMap` does: unknown keys are ignored, null values skipped, a value of the wrong type
 * is an `invalid_request` naming the option. Sentinels meaning "default" (num_gpu -1, num_thread 0,
 * num_ctx 0) become undefined so the engine's defaults apply.
 */
export function mapOllamaOptions(options: unknown): MappedOptions {
  const sampling: SamplingOptions = {};
  const load: LoadOptions = {};
  if (options === undefined || options === null) return { sampling, load };
  if (typeof options !== "object" || Array.isArray(options)) {
    throw new AppError("invalid_request", "options must be an object", { param: "options" });
  }
  for (const [key, value] of Object.entries(options as Record<string, unknown>)) {
    const target = Object.hasOwn(OPTIONS, key) ? OPTIONS[key] : undefined;
    if (target === undefined || value === null || value === undefined) continue;
    const converted = convert(key, target.kind, value);
    if ("sampling" in target) {
      (sampling as Record<string, unknown>)[target.sampling] = converted;
    } else if ("load" in target) {
      if (typeof converted === "number" && isDefaultSentinel(target.load, converted)) continue;
      (load as Record<string, unknown>)[target.load] = converted;
    }
  }
  return { sampling, load };
}

function isDefaultSentinel(key: keyof LoadOptions, value: number): boolean {
  if (key === "numGpu") return value < 0;
  return value <= 0;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Puts a model's params layer (Ollama option names) under the request's already-mapped options:
 * every field the request leaves undefined takes the model's value. A params layer with a value of
 * the wrong type fails the request like a wrong request option would (Ollama does the same).
 */
export function withModelDefaults(
  request: MappedOptions,
  params: Readonly<Record<string, unknown>> | undefined,
): MappedOptions {
  const defaults = mapOllamaOptions(params ?? {});
  return {
    sampling: { ...defaults.sampling, ...definedOnly(request.sampling) },
    load: { ...defaults.load, ...definedOnly(request.load) },
  };
}
