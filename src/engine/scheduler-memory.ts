/**
 * Memory for the scheduler: what loading a model would take (its GGUF header's shape, read once
 * per model file, through memory-estimate.ts), the budget all runners share (`engine.max_memory`)
 * and the real resident memory of a runner process. The slot scheduler decides from these which
 * idle runners to evict and when to refuse a load with `insufficient_memory`.
 */
import { readFileSync } from "node:fs";
import { freemem } from "node:os";
import { AppError } from "../errors.js";
import type { ModelRecord } from "../models/types.js";
import {
  autoParallel,
  estimateMemory,
  formatMemory,
  kvCacheTypeFor,
  readModelShape,
} from "./memory-estimate.js";
import type {
  EstimateOptions,
  FlashAttention,
  KvCacheType,
  MemoryEstimate,
  ModelShape,
} from "./memory-estimate.js";
import type { LoadSpec } from "./runner/protocol.js";

export interface MemorySettings {
  /** Bytes all loaded models may use together, or "auto": free memory plus what they use now. */
  maxMemory: "auto" | number;
  kvCacheType: KvCacheType;
  flashAttention: FlashAttention;
  /** Cores available to a runner (input of the "auto" parallel rule). */
  cores: number;
}

/** A load as requests ask for it: num_parallel may be "auto"; the memory settings are global. */
export type RequestedLoad = Omit<LoadSpec, "numParallel" | "kvCacheType" | "flashAttention"> & {
  numParallel: number | "auto";
};

/** What the scheduler asks of the runner, and what that will cost. */
export interface LoadPlan {
  /** The spec sent to the runner: num_parallel resolved to a count. */
  spec: LoadSpec;
  parallel: number;
  estimate: MemoryEstimate;
}

/** Shapes kept per model file (a few numbers each); far more than any server has models. */
const SHAPE_CACHE_LIMIT = 256;

/** A model's shape, with its draft model's when it has one (speculative decoding). */
export type PlannedShape = ModelShape & { draft?: ModelShape };

function sumEstimates(a: MemoryEstimate, b: MemoryEstimate): MemoryEstimate {
  return {
    weightsBytes: a.weightsBytes + b.weightsBytes,
    kvCacheBytes: a.kvCacheBytes + b.kvCacheBytes,
    computeBytes: a.computeBytes + b.computeBytes,
    totalBytes: a.totalBytes + b.totalBytes,
    contextLength: a.contextLength,
  };
}

export class MemoryPlanner {
  private readonly shapes = new Map<string, Promise<ModelShape>>();
  /** The same shapes once read, for the scheduler's synchronous decisions. */
  private readonly known = new Map<string, ModelShape>();

  constructor(private readonly settings: MemorySettings) {}

  /** The model's (and its draft's) shape if the headers have been read already. */
  knownShape(model: ModelRecord): PlannedShape | undefined {
    const shape = this.known.get(model.modelDigest);
    if (!model.draft || !shape) return shape;
    const draft = this.known.get(model.draft.modelDigest);
    return draft ? { ...shape, draft } : undefined;
  }

  /** The model's shape, and its draft model's: a runner that speculates loads both. */
  async shape(model: ModelRecord): Promise<PlannedShape> {
    const draft = model.draft;
    if (!draft) return this.fileShape(model);
    const [shape, draftShape] = await Promise.all([
      this.fileShape(model),
      this.fileShape({ modelDigest: draft.modelDigest, modelPath: draft.modelPath }),
    ]);
    return { ...shape, draft: draftShape };
  }

  /** A GGUF header's shape (cached by blob digest: the file never changes). */
  private fileShape(model: Pick<ModelRecord, "modelDigest" | "modelPath">): Promise<ModelShape> {
    let shape = this.shapes.get(model.modelDigest);
    if (!shape) {
      if (this.shapes.size >= SHAPE_CACHE_LIMIT) {
        this.shapes.clear();
        this.known.clear();
      }
      shape = readModelShape(model.modelPath).then((read) => {
        this.known.set(model.modelDigest, read);
        return read;
      });
      shape = shape.catch((error: unknown) => {
        this.shapes.delete(model.modelDigest);
        const reason = error instanceof Error ? error.message : String(error);
        throw new AppError("model_load_failed", `failed to load model: ${reason}`, { cause: error });
      });
      this.shapes.set(model.modelDigest, shape);
    }
    return shape;
  }

  /** Resolves num_parallel ("auto" from cores and free memory) and estimates the load. */
  plan(shape: PlannedShape, spec: RequestedLoad): LoadPlan {
    const options = {
      numCtx: spec.numCtx,
      kvCacheType: kvCacheTypeFor(shape, this.settings.kvCacheType),
      flashAttention: this.settings.flashAttention,
      ...(spec.numBatch === undefined ? {} : { numBatch: spec.numBatch }),
    };
    const parallel =
      spec.numParallel === "auto"
        ? autoParallel(shape, options, this.settings.cores, freemem())
        : spec.numParallel;
    return {
      spec: {
        ...spec,
        numParallel: parallel,
        kvCacheType: options.kvCacheType,
        flashAttention: this.settings.flashAttention,
      },
      parallel,
      estimate: this.estimate(shape, spec, { ...options, parallel }),
    };
  }

  /** The target's estimate, plus its draft model's (same context and slots) when it drafts. */
  private estimate(shape: PlannedShape, spec: RequestedLoad, options: EstimateOptions): MemoryEstimate {
    const target = estimateMemory(shape, options);
    if (spec.draftModelPath === undefined || !shape.draft) return target;
    // The draft's context has the target's size and slots, and an f16 cache (speculation.ts).
    return sumEstimates(target, estimateMemory(shape.draft, { ...options, kvCacheType: "f16" }));
  }

  /** The budget, given the bytes the loaded runners are accounted for. */
  limit(usedBytes: number): number {
    const max = this.settings.maxMemory;
    // "auto", as Ollama does on a CPU: what the system has free now, plus what our own runners hold
    // (their memory is not free, yet it is ours to hand out by evicting them).
    return max === "auto" ? freemem() + usedBytes : max;
  }

  /** The error for a model that cannot fit even with every other runner unloaded. */
  static insufficient(neededBytes: number, availableBytes: number): AppError {
    return new AppError(
      "insufficient_memory",
      `model requires ${formatMemory(neededBytes)} of memory but only ${formatMemory(Math.max(0, availableBytes))} is available`,
    );
  }
}

/**
 * Resident memory of a process, bytes (Linux /proc; undefined elsewhere or once it has exited).
 * Weights are mapped from the model file, so the pages of them touched so far count too.
 */
export function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined || process.platform !== "linux") return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kib === undefined ? undefined : Number(kib) * 1024;
  } catch {
    return undefined;
  }
}

/** A loaded (or loading, or stopping) runner as the room-making rule sees it. */
export interface Resident {
  state: "loading" | "ready" | "stopping";
  active: number;
  lastUsed: number;
  /** The estimate it was loaded with: what the budget accounts for it. */
  memoryBytes: number;
}

export type RoomDecision<T> =
  | { action: "load" }
  | { action: "evict"; victim: T }
  | { action: "wait" }
  | { action: "refuse"; error: AppError };

/**
 * Whether a load that needs `needBytes` can start now. Idle runners are evicted least recently
 * used first, one at a time, until the load fits in the budget and under `maxLoaded`; a runner
 * with requests in flight (or still loading) is never evicted: the load waits for it to go idle.
 * A stopping runner still counts until its process has exited. A load larger than the whole
 * budget could never fit and is refused.
 */
export function makeRoom<T extends Resident>(
  residents: readonly T[],
  needBytes: number,
  maxLoaded: number,
  planner: MemoryPlanner,
): RoomDecision<T> {
  const used = residents.reduce((sum, r) => sum + r.memoryBytes, 0);
  const limit = planner.limit(used);
  if (needBytes > limit) return { action: "refuse", error: MemoryPlanner.insufficient(needBytes, limit) };
  if (residents.length < maxLoaded && used + needBytes <= limit) return { action: "load" };
  const staying = residents.filter((r) => r.state !== "stopping");
  const stayingUsed = staying.reduce((sum, r) => sum + r.memoryBytes, 0);
  // Enough is already on its way out: wait for those processes to exit.
  if (staying.length < maxLoaded && stayingUsed + needBytes <= limit) return { action: "wait" };
  const victim = leastRecentlyUsedIdle(staying);
  return victim ? { action: "evict", victim } : { action: "wait" };
}

function leastRecentlyUsedIdle<T extends Resident>(residents: readonly T[]): T | undefined {
  let victim: T | undefined;
  for (const resident of residents) {
    if (resident.state !== "ready" || resident.active > 0) continue;
    if (!victim || resident.lastUsed < victim.lastUsed) victim = resident;
  }
  return victim;
}
