/**
 * Every metric the server exports under `aixcl_`, as data: the registry (registry.ts) builds its
 * prom-client metrics from this table, and `aixcl monitoring export` (monitoring.ts) checks the
 * alert rules and dashboards it writes against it, so neither can name a metric that is not
 * served. Node's own process metrics (`process_*`, `nodejs_*`) come from prom-client's
 * collectDefaultMetrics and are not listed here.
 */

type MetricType = "counter" | "gauge" | "histogram";

export interface MetricDefinition {
  /** The exposition name (a counter's includes `_total`; a histogram's has no `_bucket` suffix). */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** Histograms only: the bucket upper bounds (the `le` values before `+Inf`). */
  readonly buckets?: readonly number[];
  /** When the series exists: the profiles or conditions that export it (for the docs). */
  readonly when?: string;
}

// Seconds. Request durations span health checks (ms) to long generations (minutes).
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
// Seconds. First token includes queueing and model load, so the tail reaches minutes.
const FIRST_TOKEN_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120];
// Tokens per second of decode: CPU-only small models sit at 5–150, GPUs reach thousands.
const TOKENS_PER_SECOND_BUCKETS = [1, 2.5, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500, 1000, 2500];

export const METRIC_DEFINITIONS = [
  {
    name: "aixcl_http_requests_total",
    type: "counter",
    help: "HTTP requests finished, by route pattern, method and status code.",
    labels: ["route", "method", "status"],
  },
  {
    name: "aixcl_http_request_duration_seconds",
    type: "histogram",
    help: "HTTP request duration in seconds (to the last byte of streamed responses).",
    labels: ["route", "method"],
    buckets: DURATION_BUCKETS,
  },
  {
    name: "aixcl_prompt_tokens_total",
    type: "counter",
    help: "Prompt tokens evaluated by generations.",
    labels: ["model"],
  },
  { name: "aixcl_generated_tokens_total", type: "counter", help: "Tokens generated.", labels: ["model"] },
  {
    name: "aixcl_time_to_first_token_seconds",
    type: "histogram",
    help: "Time from request to first generated token in seconds (includes queueing and load).",
    labels: ["model"],
    buckets: FIRST_TOKEN_BUCKETS,
  },
  {
    name: "aixcl_generation_tokens_per_second",
    type: "histogram",
    help: "Decode speed of each generation: eval_count / eval_duration.",
    labels: ["model"],
    buckets: TOKENS_PER_SECOND_BUCKETS,
  },
  {
    name: "aixcl_embedding_requests_total",
    type: "counter",
    help: "Embedding requests served.",
    labels: ["model"],
  },
  {
    name: "aixcl_embedding_tokens_total",
    type: "counter",
    help: "Input tokens embedded.",
    labels: ["model"],
  },
  { name: "aixcl_queue_depth", type: "gauge", help: "Requests waiting for a slot.", labels: [] },
  { name: "aixcl_active_requests", type: "gauge", help: "Requests being generated right now.", labels: [] },
  { name: "aixcl_loaded_models", type: "gauge", help: "Models currently loaded in runners.", labels: [] },
  {
    name: "aixcl_model_loaded",
    type: "gauge",
    help: "1 for each model currently loaded.",
    labels: ["model"],
  },
  {
    name: "aixcl_runner_restarts_total",
    type: "counter",
    help: "Runner processes restarted after a crash.",
    labels: [],
  },
  {
    name: "aixcl_vault_sealed",
    type: "gauge",
    help: "1 while the secrets vault is sealed (requests needing a secret answer 503), else 0.",
    labels: [],
    when: "profiles bld and sys (core has no vault)",
  },
  {
    name: "aixcl_models_disk_free_bytes",
    type: "gauge",
    help: "Bytes free to the server on the file system holding the model store (NaN when unreadable).",
    labels: [],
  },
] as const satisfies readonly MetricDefinition[];

export type MetricName = (typeof METRIC_DEFINITIONS)[number]["name"];

/** Prefixes of the process metrics prom-client adds (collectDefaultMetrics). */
export const PROCESS_METRIC_PREFIXES = ["process_", "nodejs_"] as const;

/** The definition of `name`; throws on a name the table does not hold (a programming error). */
export function metricDefinition(name: MetricName): MetricDefinition {
  const found = METRIC_DEFINITIONS.find((definition) => definition.name === name);
  if (!found) throw new Error(`no metric definition for ${name}`);
  return found;
}

/**
 * The series names a PromQL expression may use for the metrics of the table: a histogram's
 * `_bucket`, `_sum` and `_count`, every other metric's own name.
 */
export function exportedSeriesNames(): Set<string> {
  const names = new Set<string>();
  for (const definition of METRIC_DEFINITIONS) {
    if (definition.type === "histogram") {
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(definition.name + suffix);
    } else {
      names.add(definition.name);
    }
  }
  return names;
}
