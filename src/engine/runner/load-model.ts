/**
 * Runner side: loads llama.cpp, the model and its generation context, and decides how many
 * parallel sequences fit.
 */
import { freemem } from "node:os";
import { basename } from "node:path";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import type { Llama, LlamaContext, LlamaModel } from "node-llama-cpp";
import type { LoadedInfo, LoadSpec } from "./protocol.js";

/** Most sequences "auto" gives one context: beyond this, per-stream speed drops with little gain. */
const MAX_AUTO_PARALLEL = 4;
/** Share of free memory the auto rule lets the context (KV cache + compute buffers) take. */
const AUTO_MEMORY_SHARE = 0.5;

export interface RunnerModel {
  llama: Llama;
  model: LlamaModel;
  context: LlamaContext;
  threads: number;
  info: LoadedInfo;
}

/**
 * The "auto" num_parallel rule: one sequence per core, at most 4, then one fewer at a time
 * (4 → 3 → 2 → 1) while node-llama-cpp's estimate of the context memory for that many sequences
 * exceeds half of the free memory. Each sequence has its own numCtx cells, so memory grows
 * linearly with the count.
 */
function autoParallel(model: LlamaModel, numCtx: number, cores: number, free = freemem()): number {
  let parallel = Math.min(MAX_AUTO_PARALLEL, Math.max(1, cores));
  while (parallel > 1) {
    const estimate = model.fileInsights.estimateContextResourceRequirements({
      contextSize: numCtx,
      sequences: parallel,
      modelGpuLayers: model.gpuLayers,
    });
    if (estimate.cpuRam + estimate.gpuVram <= free * AUTO_MEMORY_SHARE) break;
    parallel--;
  }
  return parallel;
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
 * subprocess (about 1–2 s, not configurable), so a spare runner does this ahead of time.
 */
export function createLlama(gpu: "auto" | false): Promise<Llama> {
  return getLlama({ gpu, build: "never", logLevel: LlamaLogLevel.warn, logger: log });
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
  const parallel = spec.numParallel === "auto" ? autoParallel(model, numCtx, spec.cores) : spec.numParallel;
  const context = await model.createContext({
    contextSize: numCtx,
    sequences: parallel,
    threads: spec.threads,
    failedCreationRemedy: false,
    ...(spec.numBatch === undefined ? {} : { batchSize: spec.numBatch }),
  });
  const contextEstimate = model.fileInsights.estimateContextResourceRequirements({
    contextSize: context.contextSize,
    sequences: parallel,
    modelGpuLayers: model.gpuLayers,
  });
  const modelVram = model.fileInsights.estimateModelResourceRequirements({
    gpuLayers: model.gpuLayers,
  }).gpuVram;
  return {
    llama,
    model,
    context,
    threads: spec.threads,
    info: {
      parallel,
      contextLength: context.contextSize,
      sizeBytes: model.size + contextEstimate.cpuRam + contextEstimate.gpuVram,
      sizeVramBytes: modelVram + contextEstimate.gpuVram,
    },
  };
}
