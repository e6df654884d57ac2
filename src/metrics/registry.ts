import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Engine, GenerateStats } from "../engine/types.js";
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
}

/** Methods recorded as themselves; anything else (a client can send any token) becomes "other". */
const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

// Seconds. Request durations span health checks (ms) to long generations (minutes).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
// Seconds. First token includes queueing and model load, so the tail reaches minutes.
const FIRST_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
// Tokens per second of decode: CPU-only small models sit at 5–150, GPUs reach thousands.
const TOKENS_PER_SECOND_BUCKETS = [1, 2.5, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000, 2500];

/**
 * Creates the Prometheus registry of one platform instance. Each call owns its own `Registry`
 * (never prom-client's global one), so two platforms in one process (tests) do not collide.
 */
export function createMetrics(options: MetricsOptions): Metrics {
  const { engine } = options;
  const register = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register });

  const models = createLabelLimiter({ max: options.maxModelLabels ?? 64 });
  const routes = createLabelLimiter({ max: options.maxRouteLabels ?? 128 });
  const registers = [register];

  const httpRequests = new Counter({
    name: "aixcl_http_requests_total",
    help: "HTTP requests finished, by route pattern, method and status code.",
    labelNames: ["route", "method", "status"] as const,
    registers,
  });
  const httpDuration = new Histogram({
    name: "aixcl_http_request_duration_seconds",
    help: "HTTP request duration in seconds (to the last byte of streamed responses).",
    labelNames: ["route", "method"] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  // Per-model series: the `model` label always goes through the limiter in the observers below.
  const modelCounter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ["model"] as const, registers });
  const modelHistogram = (name: string, help: string, buckets: number[]) =>
    new Histogram({ name, help, labelNames: ["model"] as const, buckets, registers });
  // Read from the engine at scrape time rather than pushed, so they are never stale.
  const engineGauge = (name: string, help: string, read: () => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });

  const promptTokens = modelCounter("aixcl_prompt_tokens_total", "Prompt tokens evaluated by generations.");
  const generatedTokens = modelCounter("aixcl_generated_tokens_total", "Tokens generated.");
  const firstToken = modelHistogram(
    "aixcl_time_to_first_token_seconds",
    "Time from request to first generated token in seconds (includes queueing and load).",
    FIRST_TOKEN_BUCKETS,
  );
  const tokensPerSecond = modelHistogram(
    "aixcl_generation_tokens_per_second",
    "Decode speed of each generation: eval_count / eval_duration.",
    TOKENS_PER_SECOND_BUCKETS,
  );
  const embeddingRequests = modelCounter("aixcl_embedding_requests_total", "Embedding requests served.");
  const embeddingTokens = modelCounter("aixcl_embedding_tokens_total", "Input tokens embedded.");

  engineGauge("aixcl_queue_depth", "Requests waiting for a slot.", () => engine.stats().queueDepth);
  engineGauge(
    "aixcl_active_requests",
    "Requests being generated right now.",
    () => engine.stats().activeRequests,
  );
  engineGauge("aixcl_loaded_models", "Models currently loaded in runners.", () => engine.loaded().length);
  new Gauge({
    name: "aixcl_model_loaded",
    help: "1 for each model currently loaded.",
    labelNames: ["model"] as const,
    registers,
    collect() {
      // Reset first so an unloaded model's series disappears instead of staying at its last value.
      // Loaded models are installed ones, bounded by engine.max_loaded_models, but still capped.
      this.reset();
      for (const loaded of engine.loaded()) this.set({ model: models.label(loaded.model.name) }, 1);
    },
  });
  new Counter({
    name: "aixcl_runner_restarts_total",
    help: "Runner processes restarted after a crash.",
    registers,
    collect() {
      // The engine owns the count; mirror it (a Counter has no set()).
      this.reset();
      this.inc(Math.max(0, engine.stats().runnerRestarts));
    },
  });

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
