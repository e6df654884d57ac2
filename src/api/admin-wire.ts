/**
 * The wire of the admin console's status, dashboard and log routes (docs/admin-console.md):
 * `GET /api/admin/health`, `GET /api/admin/metrics/series`, `GET /api/admin/logs`.
 */
import { z } from "zod";

export type HealthStatusWire = "ok" | "degraded" | "down";

export interface RunnerWire {
  model: string;
  pid: number | null;
  status: "ok";
  slots: number;
  slots_busy: number;
  size_vram: number;
  /** The memory estimate the scheduler accounts for it, bytes. */
  size: number;
  /** Resident memory of the runner process now, bytes. */
  size_rss: number;
  context_length: number;
  expires_at: string | null;
}

export interface HealthWire {
  status: HealthStatusWire;
  version: string;
  uptime_s: number;
  profile: string;
  /** A component the profile does not run is absent. */
  components: {
    api: { status: "ok"; requests_active: number };
    engine?: {
      status: "ok";
      queue_depth: number;
      active_requests: number;
      runners: RunnerWire[];
      runner_restarts: number;
    };
    database?:
      | {
          status: "ok";
          engine: "pglite" | "postgres";
          size_bytes: number;
          migration: number;
          connections: number;
        }
      | { status: "down"; engine: "pglite" | "postgres"; error: string };
    vault?: { status: "ok" | "sealed"; mode: string | null; sealed: boolean };
    models?: { status: "ok" | "degraded"; count: number; path: string; disk_free_bytes: number | null };
    metrics?: { status: "ok"; samples: number; interval_s: number };
  };
}

export const seriesQuerySchema = z.object({
  range: z.enum(["15m", "1h", "24h"], { message: "must be 15m, 1h or 24h" }).default("1h"),
  model: z.string().min(1).max(256).optional(),
});

export interface MetricsSeriesWire {
  range: "15m" | "1h" | "24h";
  interval_s: number;
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

/** pino's level numbers by name (what `level=` accepts). */
export const LOG_LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;

export const logsQuerySchema = z.object({
  level: z
    .enum(["trace", "debug", "info", "warn", "error", "fatal"], {
      message: "must be trace, debug, info, warn, error or fatal",
    })
    .optional(),
  q: z.string().max(1024).optional(),
  follow: z.enum(["0", "1", "true", "false"], { message: "must be 1 or 0" }).optional(),
});
