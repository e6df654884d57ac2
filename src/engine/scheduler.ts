/**
 * The Engine: maps requests onto runner slots (scheduler-slots.ts) and streams runner output
 * back. Generation text flows runner → IPC → EventStream → iterator with no per-token
 * allocation beyond the message itself.
 */
import type { Config } from "../config/schema.js";
import type { Logger } from "../logger.js";
import type { ModelRecord } from "../models/types.js";
import type { RunnerPool } from "./runner/pool.js";
import type { RunnerGenerateStats } from "./runner/protocol.js";
import { EventStream } from "./scheduler-stream.js";
import { abortError, raceAbort } from "./scheduler-lease.js";
import { SlotScheduler } from "./scheduler-slots.js";
import { MemoryPlanner, residentBytes } from "./scheduler-memory.js";
import type { RequestedLoad } from "./scheduler-memory.js";
import { availableCores, resolveThreads } from "./threads.js";
import type {
  EmbedRequest,
  EmbedResult,
  Engine,
  EngineStats,
  GenerateEvent,
  GenerateRequest,
  GenerateStats,
  LoadedModel,
  LoadOptions,
} from "./types.js";

export interface SchedulerOptions {
  config: Readonly<Config>;
  logger: Logger;
  /** Keep a spare runner with llama.cpp loaded for the next model load. Default true. */
  spareRunner?: boolean;
  /** The runners' entry module, compiled JavaScript. Default: the one shipped beside the engine. */
  runnerEntry?: string;
  /** See CreateEngineOptions.runnerPool. */
  runnerPool?: RunnerPool;
  /**
   * Every generation's tokens and timings once it ends, finished or stopped early (a client that
   * left, a Stop in the web chat): the token counters and histograms (src/metrics) count both.
   */
  onGeneration?: (model: string, stats: GenerateStats) => void;
}

/** Speculation for a load: lookup for every model, draft for models that name a draft model. */
function speculativeLoad(
  mode: Config["engine"]["speculative"],
  model: ModelRecord,
): Pick<RequestedLoad, "speculative" | "draftModelPath"> {
  if (mode === "lookup") return { speculative: "lookup" };
  if (mode === "draft" && model.draft) return { speculative: "draft", draftModelPath: model.draft.modelPath };
  return {};
}

function elapsedNs(since: bigint): number {
  return Number(process.hrtime.bigint() - since);
}

export class Scheduler implements Engine {
  private readonly slots: SlotScheduler;
  private readonly cores = availableCores();
  private closing: Promise<void> | undefined;

  constructor(private readonly options: SchedulerOptions) {
    const engine = options.config.engine;
    this.slots = new SlotScheduler({
      maxQueue: engine.max_queue,
      maxLoadedModels: engine.max_loaded_models,
      loadTimeoutMs: engine.load_timeout * 1000,
      logger: options.logger,
      gpu: engine.gpu === "auto" ? "auto" : false,
      spareRunner: options.spareRunner ?? true,
      memory: new MemoryPlanner({
        maxMemory: engine.max_memory,
        kvCacheType: engine.kv_cache_type,
        flashAttention: engine.flash_attention,
        cores: this.cores,
      }),
      ...(options.runnerEntry === undefined ? {} : { runnerEntry: options.runnerEntry }),
      ...(options.runnerPool === undefined ? {} : { runnerPool: options.runnerPool }),
    });
  }

  admit(modelName: string): void {
    this.slots.admit(modelName);
  }

  async *generate(request: GenerateRequest): AsyncGenerator<GenerateEvent, void, undefined> {
    const started = process.hrtime.bigint();
    const { signal } = request;
    const lease = await this.slots.acquire(
      request.model,
      this.loadSpec(request.model, request.load),
      this.keepAlive(request.keepAliveMs),
      signal,
    );
    const stream = new EventStream();
    let id = 0;
    const onAbort = () => {
      lease.runner.cancel(id);
      stream.fail(abortError(signal));
      // The slot is free at once; the runner finishes its current token and drops the rest.
      lease.release();
    };
    try {
      if (signal?.aborted) throw abortError(signal);
      signal?.addEventListener("abort", onAbort, { once: true });
      const dispatched = process.hrtime.bigint();
      const queuedNs = Number(dispatched - started);
      const withTimes = (stats: RunnerGenerateStats): GenerateStats => ({
        ...stats,
        totalNs: elapsedNs(started),
        loadNs: lease.loadNs,
        firstTokenNs: queuedNs + stats.firstTokenNs,
      });
      id = lease.runner.generate(
        {
          prompt: request.prompt,
          sampling: request.sampling,
          ...(request.context ? { context: request.context } : {}),
          ...(request.format ? { format: request.format } : {}),
          ...(request.format && request.formatAfter ? { formatAfter: request.formatAfter } : {}),
        },
        {
          text: (text) => stream.pushText(text),
          done: (stats) => {
            lease.release();
            const full = withTimes(stats);
            this.options.onGeneration?.(request.model.name, full);
            stream.done(full);
          },
          usage: (stats) => this.options.onGeneration?.(request.model.name, withTimes(stats)),
          fail: (error) => {
            lease.release();
            stream.fail(error);
          },
        },
      );
      request.onSent?.();
      for (;;) {
        const event = await stream.next();
        if (!event) return;
        yield event;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      // The consumer stopped early (or an error ended it): stop generating for nobody.
      if (!stream.settled) lease.runner.cancel(id);
      lease.release();
    }
  }

  async embed(request: EmbedRequest): Promise<EmbedResult> {
    const started = process.hrtime.bigint();
    const lease = await this.slots.acquire(
      request.model,
      this.loadSpec(request.model, request.load),
      this.keepAlive(request.keepAliveMs),
      request.signal,
    );
    try {
      const result = await raceAbort(lease.runner.embed(request.input, request.truncate), request.signal);
      return { ...result, totalNs: elapsedNs(started), loadNs: lease.loadNs };
    } finally {
      lease.release();
    }
  }

  async load(model: ModelRecord, load: LoadOptions, keepAliveMs?: number): Promise<{ loadNs: number }> {
    const lease = await this.slots.acquire(model, this.loadSpec(model, load), this.keepAlive(keepAliveMs));
    lease.release();
    return { loadNs: lease.loadNs };
  }

  unload(modelName: string): Promise<void> {
    return this.slots.unload(modelName);
  }

  async tokenize(model: ModelRecord, text: string, load: LoadOptions = {}): Promise<number[]> {
    const lease = await this.slots.acquire(
      model,
      this.loadSpec(model, load),
      this.keepAlive(undefined),
      undefined,
      true,
    );
    try {
      return await lease.runner.tokenize(text);
    } finally {
      lease.release();
    }
  }

  loaded(): LoadedModel[] {
    return this.slots.snapshot().map((slot) => ({
      model: slot.model,
      sizeBytes: slot.memoryBytes,
      rssBytes: residentBytes(slot.pid) ?? 0,
      sizeVramBytes: slot.info.sizeVramBytes,
      contextLength: slot.info.contextLength,
      expiresAt: slot.expiresAt,
      slots: slot.slots,
      activeRequests: slot.active,
      queuedRequests: slot.queued,
      pid: slot.pid,
    }));
  }

  stats(): EngineStats {
    return {
      queueDepth: this.slots.queueDepth,
      activeRequests: this.slots.activeRequests,
      runnerRestarts: this.slots.runnerRestarts,
    };
  }

  close(): Promise<void> {
    this.closing ??= this.slots.close();
    return this.closing;
  }

  /** ms; undefined = config default; negative = forever. */
  private keepAlive(requested: number | undefined): number {
    const value = requested ?? this.options.config.engine.keep_alive;
    return value < 0 ? Infinity : value;
  }

  private loadSpec(model: ModelRecord, load: LoadOptions): RequestedLoad {
    const engine = this.options.config.engine;
    const gpu = engine.gpu === "auto" ? "auto" : false;
    return {
      modelPath: model.modelPath,
      numCtx: load.numCtx !== undefined && load.numCtx > 0 ? load.numCtx : engine.context_length,
      numParallel: engine.num_parallel,
      threads: resolveThreads(engine.threads, load.numThread, this.cores),
      gpu,
      ...(gpu !== false && load.numGpu !== undefined && load.numGpu >= 0 ? { gpuLayers: load.numGpu } : {}),
      ...(load.numBatch !== undefined && load.numBatch > 0 ? { numBatch: load.numBatch } : {}),
      ...(load.useMmap !== undefined ? { useMmap: load.useMmap } : {}),
      ...speculativeLoad(engine.speculative, model),
    };
  }
}
