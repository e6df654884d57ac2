/**
 * Cumulative values of the registry's own counters, read through prom-client (the numbers
 * `/metrics` renders, not a parallel tally), for the dashboards' sampler (metrics/sampler.ts).
 */
import type { Counter, Histogram } from "prom-client";
import type { Engine } from "../engine/types.js";

export const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];

/** Per-model cumulative counters (the `model` label, already bounded by the label limiter). */
interface ModelCounters {
  promptTokens: number;
  generatedTokens: number;
  /** Cumulative first-token histogram counts, one per bound of `MetricsSnapshot.ttftBounds`. */
  ttft: number[];
}

export interface MetricsSnapshot {
  /** `aixcl_http_requests_total`, summed by status class. */
  requests: Record<StatusClass, number>;
  models: Map<string, ModelCounters>;
  /** Upper bounds of the first-token buckets, seconds; the last is Infinity (`+Inf`). */
  ttftBounds: readonly number[];
  queueDepth: number;
  activeRequests: number;
  loadedModels: number;
  runnerRestarts: number;
}

function statusClass(status: string | number | undefined): StatusClass | undefined {
  const found = STATUS_CLASSES[Math.floor(Number(status) / 100) - 1];
  return found;
}

interface SnapshotSources {
  engine: Engine;
  httpRequests: Counter<"route" | "method" | "status">;
  promptTokens: Counter<"model">;
  generatedTokens: Counter<"model">;
  firstToken: Histogram<"model">;
  firstTokenBuckets: readonly number[];
}

/** Reads the sources into one snapshot. */
export async function readSnapshot(sources: SnapshotSources): Promise<MetricsSnapshot> {
  const ttftBounds = [...sources.firstTokenBuckets, Infinity];
  const requests = Object.fromEntries(STATUS_CLASSES.map((k) => [k, 0])) as Record<StatusClass, number>;
  for (const { labels, value } of (await sources.httpRequests.get()).values) {
    const cls = statusClass(labels.status);
    if (cls !== undefined) requests[cls] += value;
  }
  const models = new Map<string, ModelCounters>();
  const entry = (model: string | number | undefined): ModelCounters => {
    const name = String(model ?? "");
    let found = models.get(name);
    if (!found) {
      found = { promptTokens: 0, generatedTokens: 0, ttft: ttftBounds.map(() => 0) };
      models.set(name, found);
    }
    return found;
  };
  for (const { labels, value } of (await sources.promptTokens.get()).values)
    entry(labels.model).promptTokens = value;
  for (const { labels, value } of (await sources.generatedTokens.get()).values)
    entry(labels.model).generatedTokens = value;
  for (const { labels, value, metricName } of (await sources.firstToken.get()).values) {
    if (!metricName?.endsWith("_bucket")) continue;
    // Bucket series carry `le` besides the declared labels.
    const bound = (labels as { le?: string | number }).le;
    const le = bound === "+Inf" ? Infinity : Number(bound);
    const index = ttftBounds.indexOf(le);
    if (index >= 0) entry(labels.model).ttft[index] = value;
  }
  const stats = sources.engine.stats();
  return {
    requests,
    models,
    ttftBounds,
    queueDepth: stats.queueDepth,
    activeRequests: stats.activeRequests,
    loadedModels: sources.engine.loaded().length,
    runnerRestarts: Math.max(0, stats.runnerRestarts),
  };
}
