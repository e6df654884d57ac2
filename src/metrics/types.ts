import type { GenerateStats } from "../engine/types.js";
import type { MetricsSnapshot } from "./snapshot.js";

/** What the server reports to the metrics registry. Implemented in metrics/registry.ts. */
export interface Metrics {
  /** One finished HTTP request. `route` is the route pattern (e.g. `/api/chat`), never the raw URL. */
  observeRequest(route: string, method: string, status: number, durationSeconds: number): void;
  /** One finished generation (chat/generate/completions). Model label bounded to installed models. */
  observeGeneration(model: string, stats: GenerateStats): void;
  /** One embedding request. */
  observeEmbedding(model: string, promptTokens: number, totalNs: number): void;
  /** Cumulative values of the counters `render()` exposes, for the dashboards' sampler. */
  snapshot(): Promise<MetricsSnapshot>;
  /** Prometheus text exposition. */
  render(): Promise<{ contentType: string; body: string }>;
}
