/**
 * What `aixcl monitoring export` writes: a Prometheus scrape configuration, alert rules and
 * Grafana dashboards for the metrics of definitions.ts. Every expression here names only
 * metrics of that table, Node's process metrics and Prometheus's own `up` (the tests parse the
 * expressions and check it).
 */
import { stringify } from "yaml";
import type { MetricName } from "./definitions.js";

export interface MonitoringExportOptions {
  /** `host:port` Prometheus scrapes. */
  target: string;
  /** `auth.api: required`: the scrape sends a bearer token read from TOKEN_FILE. */
  authRequired: boolean;
  /** Prometheus duration between scrapes and rule evaluations, e.g. `15s`. */
  scrapeInterval: string;
}

export interface MonitoringFile {
  /** Relative to the export directory, `/`-separated. */
  path: string;
  content: string;
}

const PROMETHEUS_CONFIG = "prometheus.yml";
const ALERT_RULES = "aixcl-alerts.yml";
/** The API key file the scrape reads with auth.api required (relative to prometheus.yml). */
export const TOKEN_FILE = "aixcl-api-key";
/** The scrape job's name, which the `up` alert selects. */
const JOB = "aixcl";

/** Prometheus durations: `15s`, `1m`, `500ms`, `1h30m`. */
export const DURATION = /^(?:\d+(?:ms|s|m|h|d|w|y))+$/;

/** Free bytes below which the model disk counts as nearly full (the health route's threshold too). */
const LOW_DISK_BYTES = 1024 ** 3;

/** Every file of an export, in the order they are written. */
export function monitoringFiles(options: MonitoringExportOptions): MonitoringFile[] {
  return [
    { path: PROMETHEUS_CONFIG, content: prometheusConfig(options) },
    { path: ALERT_RULES, content: alertRules() },
    ...dashboards().map((dashboard) => ({
      path: `grafana/${dashboard.uid}.json`,
      content: `${JSON.stringify(dashboard, null, 2)}\n`,
    })),
  ];
}

function prometheusConfig(options: MonitoringExportOptions): string {
  const auth = options.authRequired
    ? [
        "    # auth.api is required, so /metrics needs a credential like every API route. Put an API",
        `    # key in ${TOKEN_FILE} next to this file (readable by Prometheus only), e.g.`,
        `    #   aixcl keys create --name prometheus > ${TOKEN_FILE} && chmod 600 ${TOKEN_FILE}`,
        "    # (profile core: the auth.api_key file). Prometheus sends it as a Bearer token.",
        "    authorization:",
        "      type: Bearer",
        `      credentials_file: ${TOKEN_FILE}`,
      ]
    : [
        "    # auth.api is off: /metrics answers without a credential. With auth.api required, add",
        "    #   authorization: { type: Bearer, credentials_file: <file holding an API key> }",
      ];
  return [
    "# Prometheus configuration for aixcl, written by `aixcl monitoring export`.",
    "# Run it as it is (prometheus --config.file=prometheus.yml), or copy the `aixcl` job and the",
    "# rule_files entry into an existing prometheus.yml (relative paths are read from the directory",
    "# of the configuration file that names them).",
    "global:",
    `  scrape_interval: ${options.scrapeInterval}`,
    `  evaluation_interval: ${options.scrapeInterval}`,
    "rule_files:",
    `  - ${ALERT_RULES}`,
    "scrape_configs:",
    `  - job_name: ${JOB}`,
    "    metrics_path: /metrics",
    "    scheme: http",
    ...auth,
    "    static_configs:",
    `      - targets: [${JSON.stringify(options.target)}]`,
    "",
  ].join("\n");
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: "critical" | "warning" };
  annotations: { summary: string; description: string };
}

/** A metric of the table (checked by the compiler) inside a PromQL expression. */
const m = (name: MetricName): string => name;

const ALERTS: AlertRule[] = [
  {
    alert: "AixclDown",
    expr: `up{job="${JOB}"} == 0`,
    for: "1m",
    labels: { severity: "critical" },
    annotations: {
      summary: "aixcl server {{ $labels.instance }} is down",
      description: "Prometheus has not scraped /metrics of {{ $labels.instance }} for a minute.",
    },
  },
  {
    alert: "AixclRunnerCrashLoop",
    expr: `increase(${m("aixcl_runner_restarts_total")}[15m]) >= 3`,
    labels: { severity: "critical" },
    annotations: {
      summary: "aixcl runners keep crashing on {{ $labels.instance }}",
      description:
        '{{ $value | printf "%.0f" }} runner restarts in 15 minutes: a model crashes its llama.cpp runner (see the server log).',
    },
  },
  {
    alert: "AixclQueueSaturated",
    expr: `${m("aixcl_queue_depth")} >= 8`,
    for: "5m",
    labels: { severity: "warning" },
    annotations: {
      summary: "aixcl request queue saturated on {{ $labels.instance }}",
      description:
        "{{ $value }} requests have waited for a slot for 5 minutes: raise engine.num_parallel or add capacity.",
    },
  },
  {
    alert: "AixclSlowFirstToken",
    expr:
      `histogram_quantile(0.95, sum by (instance, model, le) ` +
      `(rate(${m("aixcl_time_to_first_token_seconds")}_bucket[5m]))) > 10`,
    for: "10m",
    labels: { severity: "warning" },
    annotations: {
      summary: "slow first token for {{ $labels.model }} on {{ $labels.instance }}",
      description:
        "95th percentile time to first token is {{ $value | humanizeDuration }} (over 10 s for 10 minutes): queueing, model loads or an overloaded machine.",
    },
  },
  {
    alert: "AixclHighErrorRate",
    expr:
      `sum by (instance) (rate(${m("aixcl_http_requests_total")}{status=~"5.."}[5m]))` +
      ` / sum by (instance) (rate(${m("aixcl_http_requests_total")}[5m])) > 0.05`,
    for: "5m",
    labels: { severity: "warning" },
    annotations: {
      summary: "aixcl answers many 5xx on {{ $labels.instance }}",
      description: "{{ $value | humanizePercentage }} of requests failed with a 5xx status over 5 minutes.",
    },
  },
  {
    alert: "AixclVaultSealed",
    expr: `${m("aixcl_vault_sealed")} == 1`,
    for: "5m",
    labels: { severity: "critical" },
    annotations: {
      summary: "aixcl vault sealed on {{ $labels.instance }}",
      description:
        "The secrets vault has been sealed for 5 minutes: sign-ins and anything needing a secret answer 503. Run `aixcl vault unseal`.",
    },
  },
  {
    alert: "AixclModelDiskNearlyFull",
    expr: `${m("aixcl_models_disk_free_bytes")} < ${LOW_DISK_BYTES}`,
    for: "10m",
    labels: { severity: "warning" },
    annotations: {
      summary: "model disk nearly full on {{ $labels.instance }}",
      description:
        "{{ $value | humanize1024 }}B free on the model store's file system: pulls will fail. Remove models (aixcl models rm) or free space.",
    },
  },
];

function alertRules(): string {
  const header = [
    "# Prometheus alert rules for aixcl, written by `aixcl monitoring export`.",
    "# Thresholds are starting points: tune them to the machine (queue depth, first-token time).",
    "",
  ].join("\n");
  return header + stringify({ groups: [{ name: "aixcl", rules: ALERTS }] }, { lineWidth: 0 });
}

// Grafana dashboards: JSON models (schemaVersion 39) with a `datasource` variable, so they
// import into any Grafana whatever its Prometheus data source is called.

const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
const INSTANCE = `instance=~"$instance"`;
/** Grafana's rate window: at least four scrape intervals, whatever the dashboard's time range. */
const RATE = "$__rate_interval";

interface Target {
  expr: string;
  legendFormat: string;
}

interface Panel {
  type: "timeseries" | "stat";
  title: string;
  unit: string;
  targets: Target[];
  width?: number;
}

const series = (title: string, unit: string, targets: Target[], width = 12): Panel => ({
  type: "timeseries",
  title,
  unit,
  targets,
  width,
});
const stat = (title: string, unit: string, expr: string): Panel => ({
  type: "stat",
  title,
  unit,
  targets: [{ expr, legendFormat: "{{instance}}" }],
  width: 4,
});
const target = (expr: string, legendFormat: string): Target => ({ expr, legendFormat });

/** p50/p95/p99 of a histogram, summed over `by`. */
function quantiles(histogram: MetricName, by: string, legend: string): Target[] {
  return [0.5, 0.95, 0.99].map((q) =>
    target(
      `histogram_quantile(${q}, sum by (${by}, le) (rate(${histogram}_bucket{${INSTANCE}}[${RATE}])))`,
      `p${Math.round(q * 100)} ${legend}`,
    ),
  );
}

interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  panels: Panel[];
}

const OVERVIEW: DashboardSpec = {
  uid: "aixcl-overview",
  title: "aixcl / Overview",
  description: "Health, load and throughput of aixcl servers.",
  panels: [
    stat("Up", "none", `up{job="${JOB}", ${INSTANCE}}`),
    stat("Requests/s", "reqps", `sum(rate(${m("aixcl_http_requests_total")}{${INSTANCE}}[${RATE}]))`),
    stat("Active generations", "none", `sum(${m("aixcl_active_requests")}{${INSTANCE}})`),
    stat("Queue depth", "none", `sum(${m("aixcl_queue_depth")}{${INSTANCE}})`),
    stat("Vault sealed", "bool_yes_no", `max(${m("aixcl_vault_sealed")}{${INSTANCE}})`),
    stat("Model disk free", "bytes", `min(${m("aixcl_models_disk_free_bytes")}{${INSTANCE}})`),
    series("Generated tokens/s", "short", [
      target(
        `sum by (instance) (rate(${m("aixcl_generated_tokens_total")}{${INSTANCE}}[${RATE}]))`,
        "{{instance}}",
      ),
    ]),
    series("Requests/s by status", "reqps", [
      target(`sum by (status) (rate(${m("aixcl_http_requests_total")}{${INSTANCE}}[${RATE}]))`, "{{status}}"),
    ]),
    series("Loaded models", "none", [
      target(`sum by (instance) (${m("aixcl_loaded_models")}{${INSTANCE}})`, "{{instance}}"),
    ]),
    series("Runner restarts", "none", [
      target(
        `sum by (instance) (increase(${m("aixcl_runner_restarts_total")}{${INSTANCE}}[${RATE}]))`,
        "{{instance}}",
      ),
    ]),
    series(
      "Resident memory",
      "bytes",
      [target(`process_resident_memory_bytes{${INSTANCE}}`, "{{instance}}")],
      8,
    ),
    series(
      "CPU",
      "percentunit",
      [target(`rate(process_cpu_seconds_total{${INSTANCE}}[${RATE}])`, "{{instance}}")],
      8,
    ),
    series(
      "Event loop lag p99",
      "s",
      [target(`nodejs_eventloop_lag_p99_seconds{${INSTANCE}}`, "{{instance}}")],
      8,
    ),
  ],
};

const INFERENCE: DashboardSpec = {
  uid: "aixcl-inference",
  title: "aixcl / Inference",
  description: "Generation and embedding per model: tokens, first-token time, decode speed.",
  panels: [
    series("Generated tokens/s by model", "short", [
      target(
        `sum by (model) (rate(${m("aixcl_generated_tokens_total")}{${INSTANCE}}[${RATE}]))`,
        "{{model}}",
      ),
    ]),
    series("Prompt tokens/s by model", "short", [
      target(`sum by (model) (rate(${m("aixcl_prompt_tokens_total")}{${INSTANCE}}[${RATE}]))`, "{{model}}"),
    ]),
    series("Time to first token", "s", quantiles("aixcl_time_to_first_token_seconds", "model", "{{model}}")),
    series("Decode speed (tokens/s)", "short", [
      target(
        `histogram_quantile(0.5, sum by (model, le) (rate(${m("aixcl_generation_tokens_per_second")}_bucket{${INSTANCE}}[${RATE}])))`,
        "p50 {{model}}",
      ),
      target(
        `sum by (model) (rate(${m("aixcl_generation_tokens_per_second")}_sum{${INSTANCE}}[${RATE}])) / sum by (model) (rate(${m("aixcl_generation_tokens_per_second")}_count{${INSTANCE}}[${RATE}]))`,
        "mean {{model}}",
      ),
    ]),
    series("Active and queued requests", "none", [
      target(`sum(${m("aixcl_active_requests")}{${INSTANCE}})`, "active"),
      target(`sum(${m("aixcl_queue_depth")}{${INSTANCE}})`, "queued"),
    ]),
    series("Loaded models", "none", [
      target(`max by (model) (${m("aixcl_model_loaded")}{${INSTANCE}})`, "{{model}}"),
    ]),
    series("Embedding requests/s", "reqps", [
      target(
        `sum by (model) (rate(${m("aixcl_embedding_requests_total")}{${INSTANCE}}[${RATE}]))`,
        "{{model}}",
      ),
    ]),
    series("Embedded tokens/s", "short", [
      target(
        `sum by (model) (rate(${m("aixcl_embedding_tokens_total")}{${INSTANCE}}[${RATE}]))`,
        "{{model}}",
      ),
    ]),
  ],
};

const HTTP: DashboardSpec = {
  uid: "aixcl-http",
  title: "aixcl / HTTP",
  description: "Requests by route, status and latency.",
  panels: [
    series("Requests/s by route", "reqps", [
      target(`sum by (route) (rate(${m("aixcl_http_requests_total")}{${INSTANCE}}[${RATE}]))`, "{{route}}"),
    ]),
    series("Requests/s by status", "reqps", [
      target(`sum by (status) (rate(${m("aixcl_http_requests_total")}{${INSTANCE}}[${RATE}]))`, "{{status}}"),
    ]),
    series("5xx ratio", "percentunit", [
      target(
        `sum(rate(${m("aixcl_http_requests_total")}{${INSTANCE}, status=~"5.."}[${RATE}])) / sum(rate(${m("aixcl_http_requests_total")}{${INSTANCE}}[${RATE}]))`,
        "5xx",
      ),
    ]),
    series("Requests/s by method", "reqps", [
      target(`sum by (method) (rate(${m("aixcl_http_requests_total")}{${INSTANCE}}[${RATE}]))`, "{{method}}"),
    ]),
    series(
      "Latency (all routes)",
      "s",
      quantiles("aixcl_http_request_duration_seconds", "instance", "{{instance}}"),
    ),
    series("p95 latency by route", "s", [
      target(
        `histogram_quantile(0.95, sum by (route, le) (rate(${m("aixcl_http_request_duration_seconds")}_bucket{${INSTANCE}}[${RATE}])))`,
        "{{route}}",
      ),
    ]),
  ],
};

/** A Grafana dashboard's JSON model. */
interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: { title: string; targets: { expr: string }[] }[];
  templating: { list: { name: string; query: unknown; [key: string]: unknown }[] };
  [key: string]: unknown;
}

function dashboard(spec: DashboardSpec): GrafanaDashboard {
  // Panels flow left to right on Grafana's 24-column grid, wrapping to a new row when full.
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = spec.panels.map((panel, index) => {
    const w = panel.width ?? 12;
    const h = panel.type === "stat" ? 4 : 8;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return {
      id: index + 1,
      type: panel.type,
      title: panel.title,
      datasource: DATASOURCE,
      gridPos,
      fieldConfig: { defaults: { unit: panel.unit }, overrides: [] },
      options: panel.type === "stat" ? { reduceOptions: { calcs: ["lastNotNull"] } } : {},
      targets: panel.targets.map((t, i) => ({
        refId: String.fromCharCode(65 + i),
        datasource: DATASOURCE,
        expr: t.expr,
        legendFormat: t.legendFormat,
      })),
    };
  });
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ["aixcl"],
    editable: true,
    schemaVersion: 39,
    time: { from: "now-6h", to: "now" },
    refresh: "30s",
    templating: {
      list: [
        { name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus", current: {} },
        {
          name: "instance",
          label: "Instance",
          type: "query",
          datasource: DATASOURCE,
          query: { query: `label_values(up{job="${JOB}"}, instance)`, refId: "instance" },
          definition: `label_values(up{job="${JOB}"}, instance)`,
          refresh: 2,
          includeAll: true,
          multi: true,
          allValue: ".*",
          current: { text: "All", value: "$__all" },
        },
      ],
    },
    panels,
  };
}

/** The dashboards an export writes (grafana/<uid>.json). */
function dashboards(): GrafanaDashboard[] {
  return [OVERVIEW, INFERENCE, HTTP].map(dashboard);
}
