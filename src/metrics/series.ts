/**
 * The dashboards' chart data from a run of points (metrics/points.ts), in the wire's spelling
 * (the route passes it through; docs/admin-console.md). Rates are deltas over each point's `dt`.
 */
import { bucketQuantile, type ModelDelta, type Point } from "./points.js";

export type SeriesRange = "15m" | "1h" | "24h";

export interface SeriesData {
  range: SeriesRange;
  interval_s: number;
  /** Models with token or first-token data in the range, sorted. */
  models: string[];
  t: number[];
  series: {
    requests_per_s: number[];
    errors_per_s: number[];
    requests_by_status: Record<"1xx" | "2xx" | "3xx" | "4xx" | "5xx", number[]>;
    prompt_tokens_per_s: number[];
    generated_tokens_per_s: number[];
    ttft_p50_s: (number | null)[];
    ttft_p95_s: (number | null)[];
    queue_depth: number[];
    active_requests: number[];
    loaded_models: number[];
    runner_restarts: number[];
    memory_rss_bytes: number[];
    cpu_percent: number[];
  };
}

/** The per-model deltas of a point that the `model` filter selects, summed. */
function selected(point: Point, model: string | undefined, buckets: number): ModelDelta {
  const sum: ModelDelta = { promptTokens: 0, generatedTokens: 0, ttft: new Array<number>(buckets).fill(0) };
  for (const [name, delta] of point.models) {
    if (model !== undefined && name !== model) continue;
    sum.promptTokens += delta.promptTokens;
    sum.generatedTokens += delta.generatedTokens;
    delta.ttft.forEach((n, i) => (sum.ttft[i] = (sum.ttft[i] ?? 0) + n));
  }
  return sum;
}

export function buildSeries(
  points: readonly Point[],
  options: { range: SeriesRange; intervalS: number; ttftBounds: readonly number[]; model?: string },
): SeriesData {
  const { ttftBounds, model } = options;
  const models = new Set<string>();
  const rate = (value: number, p: Point) => (p.dt > 0 ? value / p.dt : 0);
  const data: SeriesData = {
    range: options.range,
    interval_s: options.intervalS,
    models: [],
    t: [],
    series: {
      requests_per_s: [],
      errors_per_s: [],
      requests_by_status: { "1xx": [], "2xx": [], "3xx": [], "4xx": [], "5xx": [] },
      prompt_tokens_per_s: [],
      generated_tokens_per_s: [],
      ttft_p50_s: [],
      ttft_p95_s: [],
      queue_depth: [],
      active_requests: [],
      loaded_models: [],
      runner_restarts: [],
      memory_rss_bytes: [],
      cpu_percent: [],
    },
  };
  const s = data.series;
  for (const p of points) {
    for (const name of p.models.keys()) models.add(name);
    const tokens = selected(p, model, ttftBounds.length);
    const requests = Object.values(p.requests).reduce((a, b) => a + b, 0);
    // Milliseconds kept: rate × (t[i] − t[i−1]) gives back the counters' differences.
    data.t.push(Math.round(p.t * 1000) / 1000);
    s.requests_per_s.push(rate(requests, p));
    s.errors_per_s.push(rate(p.requests["5xx"], p));
    for (const [cls, values] of Object.entries(s.requests_by_status))
      values.push(rate(p.requests[cls as keyof typeof p.requests], p));
    s.prompt_tokens_per_s.push(rate(tokens.promptTokens, p));
    s.generated_tokens_per_s.push(rate(tokens.generatedTokens, p));
    s.ttft_p50_s.push(bucketQuantile(0.5, ttftBounds, tokens.ttft));
    s.ttft_p95_s.push(bucketQuantile(0.95, ttftBounds, tokens.ttft));
    s.queue_depth.push(p.queueDepth);
    s.active_requests.push(p.activeRequests);
    s.loaded_models.push(p.loadedModels);
    s.runner_restarts.push(p.runnerRestarts);
    s.memory_rss_bytes.push(p.rssBytes);
    s.cpu_percent.push(Math.round(p.cpuPercent * 10) / 10);
  }
  data.models = [...models].sort();
  return data;
}
