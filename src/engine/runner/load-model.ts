/**
 * Runner side: loads llama.cpp, the model and its generation context, with the parallel
 * sequences and KV cache type the scheduler chose (src/engine/scheduler-memory.ts).
 */
import { basename } from "node:path";
import { getLlama, getModuleVersion, LlamaLogLevel } from "node-llama-cpp";
import type { Llama, LlamaContext, LlamaModel } from "node-llama-cpp";
import { DecodeBatching } from "./batching.js";
import { binaryMemo } from "./binary-memo.js";
import { canStandInForBinaryTest, withBinaryTestStandIn } from "./binary-test.js";
import type { LoadedInfo, LoadSpec } from "./protocol.js";

/** node-llama-cpp's names of the KV cache types engine.kv_cache_type offers. */
const KV_CACHE_TYPES = { f16: "F16", q8_0: "Q8_0", q4_0: "Q4_0" } as const;

/**
 * The context options for a KV cache type: "experimental" in node-llama-cpp's typings, llama.cpp's
 * own --cache-type-k/-v. A quantized V cache needs flash attention, which the config enforces
 * (src/config/load.ts). Also what `npm run bench:engine` measures the cache's memory with.
 */
export function kvCacheOptions(type: LoadSpec["kvCacheType"]) {
  const ggmlType = KV_CACHE_TYPES[type];
  return { experimentalKvCacheKeyType: ggmlType, experimentalKvCacheValueType: ggmlType };
}

export interface RunnerModel {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  /** Keeps the context's generating sequences in one decode per step (./batching.ts). */
  batching: DecodeBatching;
  threads: number;
  info: Omit<LoadedInfo, "binaryTest">;
}

/** Replaces absolute paths in llama.cpp / node-llama-cpp messages so clients never see them. */
export function scrubPaths(message: string, modelPath: string): string {
  return message
    .split(modelPath)
    .join(basename(modelPath))
    .replace(/(?:\/[^\s/'"`:]+)+\/([^\s/'"`:]+)/g, "$1");
}

/**
 * llama.cpp explains a failed load only in its log ("llama_model_load: error loading model:
 * <reason>", then a generic "failed to load model"): the reason is kept for the error message.
 */
let loadReason: string | undefined;

function log(level: LlamaLogLevel, message: string): void {
  const line = message.trim();
  if (line === "") return;
  const reason = /error loading model:\s*(.+)$/.exec(line)?.[1];
  if (reason !== undefined) loadReason = reason;
  else if ((level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) && loadReason === undefined) {
    loadReason = line;
  }
  // stderr is piped to the parent, which logs it (and its tail when the runner crashes).
  process.stderr.write(`${line}\n`);
}

/**
 * Loads llama.cpp itself. On Linux node-llama-cpp first test-loads its prebuilt binary in a
 * subprocess (about 0.5 s): a binary that passed on this machine before (./binary-memo.ts), or
 * one whose settings the server has seen load llama.cpp (`binaryTested`), skips it
 * (./binary-test.ts). Resolves whether a real test ran.
 */
export async function createLlama(
  gpu: "auto" | false,
  binaryTested: boolean,
): Promise<{ llama: Llama; binaryTest: "ran" | "skipped" }> {
  const load = () => getLlama({ gpu, build: "never", logLevel: LlamaLogLevel.warn, logger: log });
  const release = await getModuleVersion();
  if (!canStandInForBinaryTest(release)) return { llama: await load(), binaryTest: "ran" };
  const { value, ran } = await withBinaryTestStandIn(load, binaryTested, binaryMemo(release));
  return { llama: value, binaryTest: ran ? "ran" : "skipped" };
}

export async function loadRunnerModel(llama: Llama, spec: LoadSpec): Promise<RunnerModel> {
  // The runner's thread budget: contexts ask for spec.threads; the splitter never exceeds it.
  llama.maxThreads = spec.threads;
  loadReason = undefined;
  let model: LlamaModel;
  try {
    model = await llama.loadModel({
      modelPath: spec.modelPath,
      gpuLayers: spec.gpuLayers ?? "auto",
      ...(spec.useMmap === undefined ? {} : { useMmap: spec.useMmap }),
    });
  } catch (error) {
    const reason = loadReason ?? (error instanceof Error ? error.message : String(error));
    throw new Error(reason, { cause: error });
  }
  const trained = model.trainContextSize;
  const numCtx = trained > 0 ? Math.min(spec.numCtx, trained) : spec.numCtx;
  const parallel = spec.numParallel;
  const batching = new DecodeBatching();
  const context = await model.createContext({
    contextSize: numCtx,
    sequences: parallel,
    threads: spec.threads,
    failedCreationRemedy: false,
    flashAttention: spec.flashAttention === "auto" ? "auto" : spec.flashAttention === "on",
    ...kvCacheOptions(spec.kvCacheType),
    ...(spec.numBatch === undefined ? {} : { batchSize: spec.numBatch }),
    batching: { itemPrioritizationStrategy: batching.strategy },
  });
  batching.attach(context);
  const contextEstimate = model.fileInsights.estimateContextResourceRequirements({
    contextSize: context.contextSize,
    sequences: parallel,
    modelGpuLayers: model.gpuLayers,
    flashAttention: context.flashAttention !== false,
    kvCacheKeyType: context.kvCacheKeyType,
    kvCacheValueType: context.kvCacheValueType,
  });
  const modelVram = model.fileInsights.estimateModelResourceRequirements({
    gpuLayers: model.gpuLayers,
  }).gpuVram;
  return {
    llama,
    model,
    context,
    batching,
    threads: spec.threads,
    info: {
      parallel,
      contextLength: context.contextSize,
      sizeVramBytes: modelVram + contextEstimate.gpuVram,
    },
  };
}
