/**
 * The dashboards' sampler (src/metrics/sampler.ts) on a real registry, its clock driven by the
 * test: a simulated day and more of samples keeps exactly 720 + 1440 points and a bounded set of
 * models, and the series are the registry's counter differences over each interval.
 */
import { describe, expect, it } from "vitest";
import type { Engine, GenerateStats } from "../../src/engine/types.js";
import { createMetrics } from "../../src/metrics/registry.js";
import { createMetricsSampler } from "../../src/metrics/sampler.js";

/** The two readings the registry takes from an engine, with nothing loaded. */
const idleEngine = {
  stats: () => ({ queueDepth: 0, activeRequests: 0, runnerRestarts: 0 }),
  loaded: () => [],
} as unknown as Engine;

function stats(promptTokens: number, evalTokens: number, firstTokenMs: number): GenerateStats {
  return {
    doneReason: "stop",
    promptTokens,
    evalTokens,
    totalNs: 1e9,
    loadNs: 0,
    promptEvalNs: 1e6,
    evalNs: 1e8,
    firstTokenNs: firstTokenMs * 1e6,
    context: [],
  };
}

const sum = (values: readonly (number | null)[]) => values.reduce<number>((a, b) => a + (b ?? 0), 0);

describe("metrics sampler", () => {
  it("keeps 720 five-second and 1440 one-minute points and a bounded set of models over a simulated 28 h", async () => {
    const metrics = createMetrics({ engine: idleEngine, processMetrics: false, maxModelLabels: 8 });
    let clock = Date.UTC(2026, 0, 1);
    const sampler = createMetricsSampler({
      metrics,
      now: () => clock,
      readProcess: () => ({ rssBytes: 1e8, cpuMicros: 0 }),
    });
    await sampler.start();
    sampler.close();
    const heapBefore = process.memoryUsage().heapUsed;
    const SAMPLES = 20_000;
    for (let i = 0; i < SAMPLES; i++) {
      // A client naming a fresh model each time: the registry's limiter caps the label at 8 + other.
      metrics.observeGeneration(`model-${i}`, stats(3, 2, 40));
      metrics.observeRequest("/api/generate", "POST", i % 10 === 0 ? 500 : 200, 0.1);
      clock += 5000;
      await sampler.sampleNow(clock);
    }
    expect(sampler.status()).toEqual({
      samples: SAMPLES,
      interval_s: 5,
      points: { fine: 720, minute: 1440 },
    });
    const hour = sampler.series("1h");
    const day = sampler.series("24h");
    expect(hour.t).toHaveLength(720);
    expect(sampler.series("15m").t).toHaveLength(180);
    expect(day.t).toHaveLength(1440);
    expect(day.interval_s).toBe(60);
    expect(day.t[1]! - day.t[0]!).toBe(60);
    // 8 admitted names + "other": later fresh names no longer add per-model state.
    expect(hour.models).toEqual(["other"]);
    expect(day.models.length).toBeLessThanOrEqual(9);
    // Each 5 s point: one request (a tenth of them 500s), 3 prompt and 2 generated tokens.
    expect(sum(hour.series.requests_per_s) * 5).toBeCloseTo(720, 6);
    expect(sum(hour.series.errors_per_s) * 5).toBeCloseTo(72, 6);
    expect(sum(hour.series.prompt_tokens_per_s) * 5).toBeCloseTo(3 * 720, 6);
    expect(sum(day.series.generated_tokens_per_s) * 60).toBeCloseTo(2 * 12 * 1440, 6);
    // All first tokens at 40 ms: inside the (0.025, 0.05] bucket.
    expect(hour.series.ttft_p50_s.every((v) => v !== null && v > 0.025 && v <= 0.05)).toBe(true);
    // Rough: the rings hold a bounded amount, far below what 20,000 kept points would need.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(64 * 1024 * 1024);
  });

  it("keeps an hour of points at a one-second interval (metrics.sample_interval)", async () => {
    const metrics = createMetrics({ engine: idleEngine, processMetrics: false });
    let clock = Date.UTC(2026, 0, 1);
    const sampler = createMetricsSampler({ metrics, intervalMs: 1000, now: () => clock });
    await sampler.start();
    sampler.close();
    for (let i = 0; i < 4000; i++) {
      metrics.observeRequest("/api/chat", "POST", 200, 0.1);
      clock += 1000;
      await sampler.sampleNow(clock);
    }
    expect(sampler.status()).toMatchObject({ interval_s: 1, points: { fine: 3600 } });
    const hour = sampler.series("1h");
    expect(hour).toMatchObject({ interval_s: 1 });
    expect(hour.t).toHaveLength(3600);
    expect(sampler.series("15m").t).toHaveLength(900);
    expect(sum(hour.series.requests_per_s)).toBeCloseTo(3600, 6);
  });

  it("filters token and first-token series by model, and reports null where nothing finished", async () => {
    const metrics = createMetrics({ engine: idleEngine, processMetrics: false });
    let clock = 1_000_000;
    const sampler = createMetricsSampler({ metrics, now: () => clock });
    await sampler.start();
    sampler.close();
    metrics.observeGeneration("a:latest", stats(10, 5, 30));
    metrics.observeGeneration("b:latest", stats(100, 50, 3000));
    clock += 5000;
    await sampler.sampleNow();
    clock += 5000;
    await sampler.sampleNow();
    const all = sampler.series("15m");
    expect(all.models).toEqual(["a:latest", "b:latest"]);
    expect(all.series.prompt_tokens_per_s).toEqual([110 / 5, 0]);
    expect(all.series.ttft_p50_s[1]).toBeNull();
    const a = sampler.series("15m", "a:latest");
    expect(a.series.prompt_tokens_per_s).toEqual([2, 0]);
    expect(a.series.generated_tokens_per_s).toEqual([1, 0]);
    expect(a.series.ttft_p95_s[0]).toBeLessThanOrEqual(0.05);
    expect(sampler.series("15m", "b:latest").series.ttft_p50_s[0]).toBeGreaterThan(2);
    // The unfiltered request series do not depend on the model filter.
    expect(a.series.requests_per_s).toEqual(all.series.requests_per_s);
  });
});
