/**
 * Slots and runners: which runner serves a request, when it may start, when runners load,
 * reload, expire and get evicted. One FIFO queue across models, bounded by `engine.max_queue`;
 * a waiting request that cannot start (its model is busy, or loading it needs an eviction no idle
 * runner allows) does not block requests behind it that can.
 */
import { AppError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { ModelRecord } from "../models/types.js";
import type { RunnerProcess } from "./runner/client.js";
import { RunnerSource } from "./scheduler-runners.js";
import type { RunnerSourceOptions } from "./scheduler-runners.js";
import type { LoadedInfo } from "./runner/protocol.js";
import { makeRoom } from "./scheduler-memory.js";
import type { LoadPlan, MemoryPlanner, PlannedShape, RequestedLoad } from "./scheduler-memory.js";
import { abortError, LeaseImpl, raceAbort } from "./scheduler-lease.js";
import type { Lease } from "./scheduler-lease.js";

export interface SlotOptions extends RunnerSourceOptions {
  maxQueue: number;
  maxLoadedModels: number;
  logger: Logger;
  /** Estimates loads and holds the memory budget (engine.max_memory). */
  memory: MemoryPlanner;
}

interface Entry {
  model: ModelRecord;
  loadKey: string;
  runner: RunnerProcess;
  state: "loading" | "ready" | "stopping";
  slots: number;
  active: number;
  keepAliveMs: number;
  lastUsed: number;
  /** Idle-expiry deadline (ms epoch) while the keep-alive timer runs. */
  expiresAt: number | undefined;
  timer: NodeJS.Timeout | undefined;
  unloadRequested: boolean;
  ready: Promise<LoadedInfo>;
  gone: boolean;
  /** Set once stopping starts: the runner's stop, or its return to the pool. */
  stopped: Promise<void> | undefined;
  /** The load's memory estimate, accounted against the budget until the process exits. */
  memoryBytes: number;
}

interface Waiter {
  model: ModelRecord;
  spec: RequestedLoad;
  /** The model's shape, to estimate a load. */
  shape: PlannedShape;
  loadKey: string;
  keepAliveMs: number;
  /** Any loaded instance of the model will do (tokenize): no reload, keep-alive untouched. */
  anyInstance: boolean;
  resolve: (lease: LeaseImpl<Entry>) => void;
  reject: (error: AppError) => void;
  cleanup: () => void;
}

export interface SlotSnapshot {
  model: ModelRecord;
  info: LoadedInfo;
  pid: number;
  /** The memory estimate the budget accounts for it. */
  memoryBytes: number;
  /** Parallel sequences the runner serves. */
  slots: number;
  active: number;
  queued: number;
  /** null = never expires. */
  expiresAt: Date | null;
}

export class SlotScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly waiters: Waiter[] = [];
  private restarts = 0;
  private closed = false;
  private readonly runners: RunnerSource;

  constructor(private readonly options: SlotOptions) {
    this.runners = new RunnerSource(options);
  }

  get queueDepth(): number {
    return this.waiters.length;
  }

  get activeRequests(): number {
    let active = 0;
    for (const entry of this.entries.values()) active += entry.active;
    return active;
  }

  get runnerRestarts(): number {
    return this.restarts;
  }

  /** See Engine.admit: refuses what acquire() would refuse for a full queue, before any work. */
  admit(modelName: string): void {
    if (this.closed) throw new AppError("shutting_down", "the server is shutting down");
    if (this.waiters.length < this.options.maxQueue) return;
    // A request that can start at once is never queued, so a full queue does not refuse it: a
    // free slot on its model (loading or ready, as tryGrant grants), or room to load it.
    const wanted = modelName.toLowerCase();
    const entry = [...this.entries.values()].find((e) => e.model.name.toLowerCase() === wanted);
    const canStart = entry
      ? entry.state !== "stopping" && entry.active < entry.slots
      : this.entries.size < this.options.maxLoadedModels;
    if (!canStart) throw this.queueFull();
  }

  /**
   * Waits for a slot on a loaded runner for `model` with these load settings. Throws `queue_full`
   * (with retryAfter), `client_closed` on abort, `model_load_failed`, `insufficient_memory`,
   * `shutting_down`.
   */
  async acquire(
    model: ModelRecord,
    spec: RequestedLoad,
    keepAliveMs: number,
    signal?: AbortSignal,
    anyInstance = false,
  ): Promise<Lease> {
    if (this.closed) throw new AppError("shutting_down", "the server is shutting down");
    if (signal?.aborted) throw abortError(signal);
    // The header's shape, to estimate a load: read once per model file, so usually known, and then
    // the request joins the queue at once (in arrival order) rather than after a read.
    const memory = this.options.memory;
    const shape = memory.knownShape(model) ?? (await raceAbort(memory.shape(model), signal));
    if (this.closed) throw new AppError("shutting_down", "the server is shutting down");
    const loadKey = JSON.stringify([model.modelDigest, spec]);
    const lease = await new Promise<LeaseImpl<Entry>>((resolve, reject) => {
      const onAbort = () => {
        this.removeWaiter(waiter);
        reject(abortError(signal));
      };
      const waiter: Waiter = {
        model,
        spec,
        shape,
        loadKey,
        keepAliveMs,
        anyInstance,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
      this.pump();
      if (this.waiters.length > this.options.maxQueue && this.removeWaiter(waiter)) {
        reject(this.queueFull());
      }
    });
    if (lease.entry.state !== "loading") return lease;
    const started = process.hrtime.bigint();
    try {
      await raceAbort(lease.entry.ready, signal);
    } catch (error) {
      lease.release();
      throw error;
    }
    lease.loadNs = Number(process.hrtime.bigint() - started);
    return lease;
  }

  /** Unloads once idle; an idle runner stops now (awaited), a busy one after its last request. */
  async unload(modelName: string): Promise<void> {
    const entry = this.entries.get(modelName);
    if (!entry || entry.state === "stopping") return;
    if (entry.active > 0) {
      entry.unloadRequested = true;
      return;
    }
    await this.stopEntry(entry);
  }

  snapshot(): SlotSnapshot[] {
    const now = Date.now();
    const out: SlotSnapshot[] = [];
    for (const entry of this.entries.values()) {
      const info = entry.runner.info;
      if (entry.state !== "ready" || !info) continue;
      const expires =
        entry.keepAliveMs === Infinity
          ? null
          : new Date(entry.active > 0 ? now + entry.keepAliveMs : (entry.expiresAt ?? now));
      out.push({
        model: entry.model,
        info,
        pid: entry.runner.pid,
        memoryBytes: entry.memoryBytes,
        slots: entry.slots,
        active: entry.active,
        queued: this.waiters.filter((w) => w.model.name === entry.model.name).length,
        expiresAt: expires,
      });
    }
    return out;
  }

  /** Rejects waiters, stops every runner (in-flight requests fail with shutting_down). Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.cleanup();
      waiter.reject(new AppError("shutting_down", "the server is shutting down"));
    }
    await Promise.all([
      ...[...this.entries.values()].map((entry) => this.stopEntry(entry)),
      this.runners.stop(),
    ]);
  }

  private queueFull(): AppError {
    return new AppError("queue_full", "server busy, too many requests waiting; retry later", {
      retryAfter: this.retryAfter(),
    });
  }

  private retryAfter(): number {
    let slots = 0;
    for (const entry of this.entries.values()) slots += entry.slots;
    return Math.min(5, 1 + Math.floor(this.waiters.length / Math.max(1, slots)));
  }

  private removeWaiter(waiter: Waiter): boolean {
    const index = this.waiters.indexOf(waiter);
    if (index < 0) return false;
    this.waiters.splice(index, 1);
    waiter.cleanup();
    return true;
  }

  /** Grants every waiter that can start now, in arrival order. */
  private pump(): void {
    if (this.closed) return;
    for (let i = 0; i < this.waiters.length;) {
      const waiter = this.waiters[i];
      const lease = waiter ? this.tryGrant(waiter) : undefined;
      if (waiter && lease) {
        this.waiters.splice(i, 1);
        waiter.cleanup();
        if (lease instanceof AppError) waiter.reject(lease);
        else waiter.resolve(lease);
      } else i++;
    }
  }

  /** A lease, an error that ends the wait (the model cannot fit), or undefined: keep waiting. */
  private tryGrant(waiter: Waiter): LeaseImpl<Entry> | AppError | undefined {
    const entry = this.entries.get(waiter.model.name);
    if (entry) {
      if (entry.state === "stopping") return undefined;
      if (entry.loadKey !== waiter.loadKey && !waiter.anyInstance) {
        // Different load settings: reload once the current instance is idle.
        if (entry.active === 0) void this.stopEntry(entry);
        return undefined;
      }
      return entry.active < entry.slots ? this.grant(entry, waiter) : undefined;
    }
    const plan = this.options.memory.plan(waiter.shape, waiter.spec);
    const room = makeRoom(
      [...this.entries.values()],
      plan.estimate.totalBytes,
      this.options.maxLoadedModels,
      this.options.memory,
    );
    switch (room.action) {
      case "load":
        return this.grant(this.startEntry(waiter, plan), waiter);
      case "refuse":
        this.options.logger.warn({ model: waiter.model.name, err: room.error.message }, "model does not fit");
        return room.error;
      case "evict":
        // Wait for the victim to exit before loading: its memory is free only then.
        void this.stopEntry(room.victim);
        return undefined;
      case "wait":
        return undefined;
    }
  }

  private grant(entry: Entry, waiter: Waiter): LeaseImpl<Entry> {
    entry.active++;
    if (!waiter.anyInstance) {
      entry.keepAliveMs = waiter.keepAliveMs;
      entry.unloadRequested = false;
    }
    entry.lastUsed = Date.now();
    this.clearTimer(entry);
    return new LeaseImpl(entry, () => this.release(entry));
  }

  private release(entry: Entry): void {
    entry.active--;
    entry.lastUsed = Date.now();
    if (!entry.gone && entry.state !== "stopping" && entry.active === 0) this.becameIdle(entry);
    this.pump();
  }

  private becameIdle(entry: Entry): void {
    if (entry.unloadRequested || entry.keepAliveMs <= 0) {
      void this.stopEntry(entry);
      return;
    }
    if (entry.keepAliveMs === Infinity) return;
    entry.expiresAt = Date.now() + entry.keepAliveMs;
    // Timers beyond ~24.8 days overflow to 1 ms in Node: clamp (a model idle that long can stay).
    entry.timer = setTimeout(() => void this.stopEntry(entry), Math.min(entry.keepAliveMs, 2 ** 31 - 1));
    entry.timer.unref();
  }

  private clearTimer(entry: Entry): void {
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    entry.expiresAt = undefined;
  }

  private startEntry(waiter: Waiter, plan: LoadPlan): Entry {
    const runner = this.runners.take();
    const entry: Entry = {
      model: waiter.model,
      loadKey: waiter.loadKey,
      runner,
      state: "loading",
      slots: plan.parallel,
      active: 0,
      keepAliveMs: waiter.keepAliveMs,
      lastUsed: Date.now(),
      expiresAt: undefined,
      timer: undefined,
      unloadRequested: false,
      ready: runner.load(plan.spec),
      gone: false,
      stopped: undefined,
      memoryBytes: plan.estimate.totalBytes,
    };
    runner.onExit = (crashed) => this.onRunnerExit(entry, crashed);
    this.entries.set(waiter.model.name, entry);
    entry.ready.then(
      (info) => {
        if (entry.state !== "loading") return;
        entry.state = "ready";
        entry.slots = info.parallel;
        this.pump();
        if (!this.closed) this.runners.ensureSpare();
      },
      (error: AppError) => this.onLoadFailed(entry, error),
    );
    return entry;
  }

  private onLoadFailed(entry: Entry, error: AppError): void {
    this.options.logger.warn({ model: entry.model.name, err: error.message }, "model load failed");
    // Requests queued for the same model and settings would fail the same way: fail them now
    // instead of loading it again for each.
    for (const waiter of this.waiters.filter(
      (w) => w.model.name === entry.model.name && w.loadKey === entry.loadKey,
    )) {
      this.removeWaiter(waiter);
      waiter.reject(error);
    }
    void this.stopEntry(entry);
  }

  private stopEntry(entry: Entry): Promise<void> {
    if (entry.state !== "stopping") {
      entry.state = "stopping";
      this.clearTimer(entry);
    }
    entry.stopped ??= this.retire(entry);
    return entry.stopped;
  }

  /** Stops an entry's runner, or frees its model and hands it to the pool when there is one. */
  private async retire(entry: Entry): Promise<void> {
    const { runner } = entry;
    const pool = this.options.runnerPool;
    if (pool && runner.info && entry.active === 0 && (await runner.reset())) {
      // Pooled first: a request waiting for this model (a reload) takes this runner back.
      pool.give(runner);
      this.onRunnerExit(entry, false);
      return;
    }
    await runner.stop();
  }

  private onRunnerExit(entry: Entry, crashed: boolean): void {
    entry.gone = true;
    this.clearTimer(entry);
    if (this.entries.get(entry.model.name) === entry) this.entries.delete(entry.model.name);
    if (crashed && entry.runner.info) this.restarts++;
    this.pump();
  }
}
