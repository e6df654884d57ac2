import type { MetricsSeries, Series } from "../api/admin-types";
import { formatBytes } from "./format";

/** One line of a chart: where its values are in the metrics response, and its legend label. */
interface ChartLine {
  /** `requests_per_s`, or `requests_by_status.2xx` for a nested series. */
  key: string;
  label: string;
}

export interface ChartSpec {
  id: string;
  title: string;
  lines: ChartLine[];
  format?: (value: number) => string;
}

/** `digits` decimals without trailing zeros ("5", not "5.00", on an axis of 0, 5, 10). */
const trimmed = (value: number, digits: number) => String(Number(value.toFixed(digits)));

/** Three significant figures, as far as decimals go: 123, 12.3, 1.23, 0.12. */
export const rate = (value: number) => trimmed(value, value >= 100 ? 0 : value >= 10 ? 1 : 2);

/** Seconds as a person reads a latency: milliseconds below one second. */
export const latency = (seconds: number) =>
  seconds >= 1 ? `${trimmed(seconds, 2)} s` : `${trimmed(seconds * 1000, seconds >= 0.01 ? 0 : 1)} ms`;

/** The dashboard's charts: the series of `/api/admin/metrics/series` (docs/admin-console.md). */
export const CHARTS: ChartSpec[] = [
  {
    id: "requests",
    title: "Requests per second",
    lines: [
      { key: "requests_per_s", label: "requests" },
      { key: "errors_per_s", label: "errors (5xx)" },
    ],
    format: rate,
  },
  {
    id: "status",
    title: "Responses by status per second",
    lines: [
      { key: "requests_by_status.2xx", label: "2xx" },
      { key: "requests_by_status.4xx", label: "4xx" },
      { key: "requests_by_status.5xx", label: "5xx" },
    ],
    format: rate,
  },
  {
    id: "tokens",
    title: "Tokens per second",
    lines: [
      { key: "generated_tokens_per_s", label: "generated" },
      { key: "prompt_tokens_per_s", label: "prompt" },
    ],
    format: rate,
  },
  {
    id: "ttft",
    title: "Time to first token",
    lines: [
      { key: "ttft_p50_s", label: "p50" },
      { key: "ttft_p95_s", label: "p95" },
    ],
    format: latency,
  },
  {
    id: "queue",
    title: "Queue and active requests",
    lines: [
      { key: "queue_depth", label: "queued" },
      { key: "active_requests", label: "active" },
    ],
  },
  {
    id: "models",
    title: "Loaded models and runner restarts",
    lines: [
      { key: "loaded_models", label: "loaded" },
      { key: "runner_restarts", label: "runner restarts" },
    ],
  },
  {
    id: "memory",
    title: "Memory (RSS)",
    lines: [{ key: "memory_rss_bytes", label: "RSS" }],
    format: formatBytes,
  },
  {
    id: "cpu",
    title: "CPU",
    lines: [{ key: "cpu_percent", label: "CPU %" }],
    format: (v) => `${trimmed(v, 1)} %`,
  },
];

/** The values of `key` (`a` or `a.b`) in a metrics response, or an empty series. */
export function seriesOf(metrics: MetricsSeries, key: string): Series {
  const [head = "", sub] = key.split(".");
  const value = metrics.series[head];
  if (Array.isArray(value)) return value;
  if (sub !== undefined && value && !Array.isArray(value)) return value[sub] ?? [];
  return [];
}

/** The latest value that is not null (what `data-last` holds), or null. */
export function lastValue(series: Series): number | null {
  for (let i = series.length - 1; i >= 0; i--) {
    const value = series[i];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}

/** The largest value of the range shown (what `data-max` holds), or null when all are null. */
export function maxValue(series: Series): number | null {
  let max: number | null = null;
  for (const value of series)
    if (value !== null && value !== undefined && (max === null || value > max)) max = value;
  return max;
}

/** A test id fragment of a series key (`requests_by_status.2xx` → `requests_by_status-2xx`). */
export const seriesId = (key: string) => key.replace(/\./g, "-");
