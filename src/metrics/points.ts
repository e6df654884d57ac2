/**
 * One dashboard point: what changed between two snapshots of the registry's counters (so a rate
 * is `delta / dt` of the very counters `/metrics` exposes) plus the gauges at its end, and how
 * 5-second points fold into minute points.
 */
import { STATUS_CLASSES, type MetricsSnapshot, type StatusClass } from "./snapshot.js";

export interface ModelDelta {
  promptTokens: number;
  generatedTokens: number;
  /** First-token histogram counts gained, cumulative per bound as Prometheus buckets are. */
  ttft: number[];
}

export interface Point {
  /** End of the interval, unix seconds. */
  t: number;
  /** Seconds the point covers. */
  dt: number;
  requests: Record<StatusClass, number>;
  /** Only the models that changed in the interval. */
  models: Map<string, ModelDelta>;
  queueDepth: number;
  activeRequests: number;
  loadedModels: number;
  runnerRestarts: number;
  rssBytes: number;
  cpuPercent: number;
}

/** Process readings the snapshot lacks: memory now, CPU time used so far. */
export interface ProcessReading {
  rssBytes: number;
  /** User + system CPU time, microseconds (process.cpuUsage()). */
  cpuMicros: number;
}

// prom-client counters only grow; a negative difference could only be a reset, counted as 0.
const gain = (next: number, prev: number) => Math.max(0, next - prev);

export function diffPoint(
  prev: { snapshot: MetricsSnapshot; process: ProcessReading },
  next: { snapshot: MetricsSnapshot; process: ProcessReading },
  t: number,
  dt: number,
): Point {
  const a = prev.snapshot;
  const b = next.snapshot;
  const requests = Object.fromEntries(
    STATUS_CLASSES.map((k) => [k, gain(b.requests[k], a.requests[k])]),
  ) as Record<StatusClass, number>;
  const models = new Map<string, ModelDelta>();
  for (const [name, now] of b.models) {
    const before = a.models.get(name);
    const delta: ModelDelta = {
      promptTokens: gain(now.promptTokens, before?.promptTokens ?? 0),
      generatedTokens: gain(now.generatedTokens, before?.generatedTokens ?? 0),
      ttft: now.ttft.map((count, i) => gain(count, before?.ttft[i] ?? 0)),
    };
    if (delta.promptTokens > 0 || delta.generatedTokens > 0 || delta.ttft.some((n) => n > 0))
      models.set(name, delta);
  }
  const cpuSeconds = gain(next.process.cpuMicros, prev.process.cpuMicros) / 1e6;
  return {
    t,
    dt,
    requests,
    models,
    queueDepth: b.queueDepth,
    activeRequests: b.activeRequests,
    loadedModels: b.loadedModels,
    runnerRestarts: b.runnerRestarts,
    rssBytes: next.process.rssBytes,
    cpuPercent: dt > 0 ? (cpuSeconds / dt) * 100 : 0,
  };
}

/**
 * `into` with `point` folded in: deltas add up, queue and active requests keep their peak (a
 * minute's burst stays visible), the other gauges their latest value, CPU its time-weighted mean.
 */
export function foldPoint(into: Point, point: Point): Point {
  const models = new Map(into.models);
  for (const [name, delta] of point.models) {
    const have = models.get(name);
    models.set(
      name,
      have
        ? {
            promptTokens: have.promptTokens + delta.promptTokens,
            generatedTokens: have.generatedTokens + delta.generatedTokens,
            ttft: have.ttft.map((n, i) => n + (delta.ttft[i] ?? 0)),
          }
        : delta,
    );
  }
  const dt = into.dt + point.dt;
  return {
    t: point.t,
    dt,
    requests: Object.fromEntries(
      STATUS_CLASSES.map((k) => [k, into.requests[k] + point.requests[k]]),
    ) as Record<StatusClass, number>,
    models,
    queueDepth: Math.max(into.queueDepth, point.queueDepth),
    activeRequests: Math.max(into.activeRequests, point.activeRequests),
    loadedModels: point.loadedModels,
    runnerRestarts: point.runnerRestarts,
    rssBytes: point.rssBytes,
    cpuPercent: dt > 0 ? (into.cpuPercent * into.dt + point.cpuPercent * point.dt) / dt : 0,
  };
}

/**
 * The q-quantile of cumulative bucket counts, interpolated linearly inside its bucket as
 * Prometheus' histogram_quantile does; null when nothing was observed. A quantile in the `+Inf`
 * bucket is reported as the highest finite bound.
 */
export function bucketQuantile(
  q: number,
  bounds: readonly number[],
  counts: readonly number[],
): number | null {
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < counts.length; i++) {
    const count = counts[i] ?? 0;
    if (count < rank) continue;
    const upper = bounds[i] ?? Infinity;
    const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
    if (!Number.isFinite(upper)) return lower;
    const below = i === 0 ? 0 : (counts[i - 1] ?? 0);
    const inBucket = count - below;
    return inBucket > 0 ? lower + ((upper - lower) * (rank - below)) / inBucket : upper;
  }
  return null;
}
