import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Engine, GenerateStats } from "../engine/types.js";
import { freeBytes } from "../lib/files.js";
import { metricDefinition, type MetricName } from "./definitions.js";
import { createLabelLimiter } from "./label-limiter.js";
import { readSnapshot } from "./snapshot.js";
import type { Metrics } from "./types.js";

export interface MetricsOptions {
  /** Source of the gauges read at scrape time (queue depth, active requests, loaded models, restarts). */
  engine: Engine;
  /** Most distinct `model` label values before new ones are recorded as "other". Default 64. */
  maxModelLabels?: number;
  /** Most distinct `route` label values before new ones are recorded as "other". Default 128. */
  maxRouteLabels?: number;
  /** Also export Node's process metrics (`process_*`, `nodejs_*`). Default true. */
  processMetrics?: boolean;
  /** The platform's vault (profiles bld, sys): exports `aixcl_vault_sealed`. */
  vault?: { readonly sealed: boolean };
  /** The model store's directory: exports `aixcl_models_disk_free_bytes` for its file system. */
  modelsPath?: string;
}

/** Methods recorded as themselves; anything else (a client can send any token) becomes "other". */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** prom-client default metrics dropped from the registry (see createMetrics). */
const MISNAMED_PROCESS_GAUGES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

const FIRST_TOKEN_BUCKETS = [...(metricDefinition("aixcl_time_to_first_token_seconds").buckets ?? [])];

/**
 * Creates the Prometheus registry of one platform instance. Each call owns its own `Registry`
 * (never prom-client's global one), so two platforms in one process (tests) do not collide.
 * Every metric's name, help, labels and buckets come from METRIC_DEFINITIONS (definitions.ts).
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { engine } = options;
  const register = new Registry();
  if (options.processMetrics !== false) {
    collectDefaultMetrics({ register });
    // Gauges named like counters (promtool check metrics: "non-counter metrics should not have
    // _total suffix"); each is the sum of the per-type gauge of the same name without `_total`.
    for (const name of MISNAMED_PROCESS_GAUGES) register.removeSingleMetric(name);
  }

  const models = createLabelLimiter({ max: options.maxModelLabels ?? 64 });
  const routes = createLabelLimiter({ max: options.maxRouteLabels ?? 128 });
  const registers = [register];

  const base = (name: MetricName) => {
    const definition = metricDefinition(name);
    return { name, help: definition.help, labelNames: [...definition.labels], registers };
  };
  const counter = (name: MetricName, collect?: (this: Counter) => void) =>
    new Counter({ ...base(name), ...(collect ? { collect } : {}) });
  const histogram = (name: MetricName) =>
    new Histogram({ ...base(name), buckets: [...(metricDefinition(name).buckets ?? [])] });
  // Read at scrape time rather than pushed, so they are never stale.
  const gauge = (name: MetricName, collect: (this: Gauge) => void | Promise<void>) =>
    new Gauge({ ...base(name), collect });
  const readGauge = (name: MetricName, read: () => number) =>
    gauge(name, function () {
      this.set(read());
    });

  const httpRequests = counter("aixcl_http_requests_total");
  const httpDuration = histogram("aixcl_http_request_duration_seconds");
  // Per-model series: the `model` label always goes through the limiter in the observers below.
  const promptTokens = counter("aixcl_prompt_tokens_total");
  const generatedTokens = counter("aixcl_generated_tokens_total");
  const firstToken = histogram("aixcl_time_to_first_token_seconds");
  const tokensPerSecond = histogram("aixcl_generation_tokens_per_second");
  const embeddingRequests = counter("aixcl_embedding_requests_total");
  const embeddingTokens = counter("aixcl_embedding_tokens_total");

  readGauge("aixcl_queue_depth", () => engine.stats().queueDepth);
  readGauge("aixcl_active_requests", () => engine.stats().activeRequests);
  readGauge("aixcl_loaded_models", () => engine.loaded().length);
  gauge("aixcl_model_loaded", function () {
    // Reset first so an unloaded model's series disappears instead of staying at its last value.
    // Loaded models are installed ones, bounded by engine.max_loaded_models, but still capped.
    this.reset();
    for (const loaded of engine.loaded()) this.set({ model: models.label(loaded.model.name) }, 1);
  });
  counter("aixcl_runner_restarts_total", function () {
    // The engine owns the count; mirror it (a Counter has no set()).
    this.reset();
    this.inc(Math.max(0, engine.stats().runnerRestarts));
  });
  const { vault, modelsPath } = options;
  if (vault) readGauge("aixcl_vault_sealed", () => (vault.sealed ? 1 : 0));
  if (modelsPath !== undefined) {
    gauge("aixcl_models_disk_free_bytes", async function () {
      // NaN rather than 0 when the path cannot be read: 0 would fire the disk-full alert.
      this.set((await freeBytes(modelsPath)) ?? Number.NaN);
    });
  }

  return {
    observeRequest(route, method, status, durationSeconds) {
      const upper = method.toUpperCase();
      const labels = { route: routes.label(route), method: KNOWN_METHODS.has(upper) ? upper : "other" };
      httpRequests.inc({ ...labels, status: String(status) });
      if (Number.isFinite(durationSeconds) && durationSeconds >= 0)
        httpDuration.observe(labels, durationSeconds);
    },
    observeGeneration(model: string, stats: GenerateStats) {
      const labels = { model: models.label(model) };
      promptTokens.inc(labels, Math.max(0, stats.promptTokens));
      generatedTokens.inc(labels, Math.max(0, stats.evalTokens));
      if (stats.evalTokens > 0 && stats.firstTokenNs > 0)
        firstToken.observe(labels, stats.firstTokenNs / 1e9);
      if (stats.evalTokens > 0 && stats.evalNs > 0) {
        tokensPerSecond.observe(labels, stats.evalTokens / (stats.evalNs / 1e9));
      }
    },
    observeEmbedding(model, promptTokenCount, _totalNs) {
      const labels = { model: models.label(model) };
      embeddingRequests.inc(labels);
      embeddingTokens.inc(labels, Math.max(0, promptTokenCount));
    },
    snapshot() {
      return readSnapshot({
        engine,
        httpRequests,
        promptTokens,
        generatedTokens,
        firstToken,
        firstTokenBuckets: FIRST_TOKEN_BUCKETS,
      });
    },
    async render() {
      return { contentType: register.contentType, body: await register.metrics() };
    },
  };
}
