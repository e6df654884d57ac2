/**
 * The dashboards' memory (docs/admin-console.md): every `intervalMs` (5 s unless
 * `metrics.sample_interval` says otherwise) the sampler reads the registry's counters
 * (Metrics.snapshot(), the numbers `/metrics` renders) and keeps the difference from the previous
 * reading as one point, in a ring of the last hour (720 points at 5 s, 3600 at 1 s);
 * every minute's points fold into one point of a ring of the last 24 h (1440). Both are fixed
 * rings, and per-model data holds only the `model` label values the registry's limiter admits,
 * so memory does not grow with uptime.
 */
import type { Metrics } from "./types.js";
import { diffPoint, foldPoint, type Point, type ProcessReading } from "./points.js";
import { createRing } from "./ring.js";
import { buildSeries, type SeriesData, type SeriesRange } from "./series.js";
import type { MetricsSnapshot } from "./snapshot.js";

const HOUR_MS = 3_600_000;
const MINUTE_POINTS = 1440;

export interface SamplerOptions {
  metrics: Pick<Metrics, "snapshot">;
  /** Milliseconds between samples. Default 5000. */
  intervalMs?: number;
  /** The clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Memory and CPU time of the process. Default: process.memoryUsage.rss() and process.cpuUsage(). */
  readProcess?: () => ProcessReading;
  /** Told about a sample that failed (the next one tries again). */
  onError?: (error: unknown) => void;
}

interface SamplerStatus {
  /** Points taken since start (not bounded by the rings). */
  samples: number;
  interval_s: number;
  /** Points held: at most an hour's worth (720 at 5 s) and 1440. */
  points: { fine: number; minute: number };
}

export interface MetricsSampler {
  /** Takes the first reading (the baseline) and starts the timer. */
  start(): Promise<void>;
  /** Takes one sample now, as if the clock read `at` (ms): tests simulate hours with it. */
  sampleNow(at?: number): Promise<void>;
  /** Chart data for a range; `model` filters the per-model series. */
  series(range: SeriesRange, model?: string): SeriesData;
  status(): SamplerStatus;
  /** Stops the timer. Idempotent. */
  close(): void;
}

function readProcessDefault(): ProcessReading {
  const cpu = process.cpuUsage();
  return { rssBytes: process.memoryUsage.rss(), cpuMicros: cpu.user + cpu.system };
}

export function createMetricsSampler(options: SamplerOptions): MetricsSampler {
  const intervalMs = options.intervalMs ?? 5000;
  const now = options.now ?? Date.now;
  const readProcess = options.readProcess ?? readProcessDefault;
  const fine = createRing<Point>(Math.ceil(HOUR_MS / intervalMs));
  const minutes = createRing<Point>(MINUTE_POINTS);
  let minute: { index: number; point: Point } | undefined;
  let previous: { snapshot: MetricsSnapshot; process: ProcessReading; at: number } | undefined;
  let ttftBounds: readonly number[] = [];
  let samples = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // Samples run one at a time (the timer and a test may ask at once): each diff needs the last.
  let chain: Promise<void> = Promise.resolve();

  const record = (point: Point) => {
    fine.push(point);
    samples++;
    const index = Math.floor(point.t / 60);
    if (minute && minute.index !== index) {
      minutes.push(minute.point);
      minute = undefined;
    }
    minute = minute ? { index, point: foldPoint(minute.point, point) } : { index, point };
  };

  const take = async (at: number) => {
    const reading = { snapshot: await options.metrics.snapshot(), process: readProcess(), at };
    ttftBounds = reading.snapshot.ttftBounds;
    if (previous && at > previous.at) {
      record(diffPoint(previous, reading, at / 1000, (at - previous.at) / 1000));
    }
    if (!previous || at > previous.at) previous = reading;
  };

  const sampleNow = (at?: number) => {
    const run = chain.then(() => take(at ?? now()));
    chain = run.catch(() => undefined);
    return run;
  };

  return {
    async start() {
      await sampleNow();
      if (closed || timer) return;
      timer = setInterval(() => {
        sampleNow().catch((error: unknown) => options.onError?.(error));
      }, intervalMs);
      // The sampler never keeps the process alive on its own.
      timer.unref();
    },
    sampleNow,
    series(range, model) {
      const last = (ms: number) => fine.items(Math.ceil(ms / intervalMs));
      const points = range === "24h" ? minutes.items() : last(range === "15m" ? HOUR_MS / 4 : HOUR_MS);
      return buildSeries(points, {
        range,
        intervalS: range === "24h" ? 60 : intervalMs / 1000,
        ttftBounds,
        ...(model !== undefined ? { model } : {}),
      });
    },
    status() {
      return {
        samples,
        interval_s: intervalMs / 1000,
        points: { fine: fine.length, minute: minutes.length },
      };
    },
    close() {
      closed = true;
      clearInterval(timer);
      timer = undefined;
    },
  };
}
