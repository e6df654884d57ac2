/**
 * The admin console's status, dashboard and log routes over real HTTP on one platform (profile
 * sys, PGlite, a real llama.cpp runner): the health report, chart data that add up to the very
 * counters `/metrics` exposes, and the log tail with its filters and a follower that ends cleanly.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthWire, MetricsSeriesWire } from "../../src/api/admin-wire.js";
import { createLogTail } from "../../src/lib/log-tail.js";
import { SCHEMA_VERSION } from "../../src/store/migrations.js";
import { bearer, localAdminToken } from "../support/auth-http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { tinyModel } from "../support/test-models.js";

const MODEL = "tiny:latest";
const tail = createLogTail();
let platform: TestPlatform;
let admin: Record<string, string>;

beforeAll(async () => {
  // The home's own PGlite, as `aixcl serve` has it: its size is read from its files.
  platform = await startTestPlatform({
    models: [{ name: MODEL, gguf: await tinyModel() }],
    logTail: tail,
    homeDatabase: true,
  });
  admin = bearer(await localAdminToken(platform.config));
});
afterAll(async () => {
  await platform?.close();
});

const get = (path: string) => fetch(`${platform.url}${path}`, { headers: admin });

async function generate(prompt: string): Promise<{ prompt_eval_count: number; eval_count: number }> {
  const response = await fetch(`${platform.url}/api/generate`, {
    method: "POST",
    headers: admin,
    body: JSON.stringify({
      model: MODEL,
      prompt,
      stream: false,
      options: { num_predict: 4, temperature: 0 },
    }),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as { prompt_eval_count: number; eval_count: number };
}

/** The sum of a metric's series in Prometheus text whose labels include `match`. */
function total(text: string, name: string, match: (labels: string) => boolean = () => true): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const found = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (found?.[1] === name && match(found[2] ?? "")) sum += Number(found[3]);
  }
  return sum;
}

/** Counter gains the chart data say: rate × the point's interval, over points after `from` (unix s). */
function gained(data: MetricsSeriesWire, values: readonly (number | null)[], from: number): number {
  let sum = 0;
  for (let i = 1; i < data.t.length; i++) {
    if (data.t[i - 1]! < from) continue;
    sum += (values[i] ?? 0) * (data.t[i]! - data.t[i - 1]!);
  }
  return sum;
}

describe("GET /api/admin/health", () => {
  it("reports every component of profile sys", async () => {
    await generate("hi");
    const response = await get("/api/admin/health");
    expect(response.status).toBe(200);
    const health = (await response.json()) as HealthWire;
    expect(health).toMatchObject({ status: "ok", profile: "sys", version: platform.deps.version });
    expect(health.uptime_s).toBeGreaterThanOrEqual(0);
    const { api, engine, database, vault, models, metrics } = health.components;
    expect(api.requests_active).toBeGreaterThanOrEqual(1);
    expect(engine).toMatchObject({ status: "ok", queue_depth: 0, active_requests: 0, runner_restarts: 0 });
    expect(engine?.runners).toHaveLength(1);
    expect(engine?.runners[0]).toMatchObject({ model: MODEL, status: "ok", slots_busy: 0 });
    expect(engine?.runners[0]?.pid).toBeGreaterThan(0);
    expect(engine?.runners[0]?.slots).toBeGreaterThanOrEqual(1);
    expect(engine?.runners[0]?.context_length).toBeGreaterThan(0);
    expect(database).toMatchObject({ status: "ok", engine: "pglite", migration: SCHEMA_VERSION });
    expect(database?.status === "ok" && database.size_bytes > 0 && database.connections >= 1).toBe(true);
    expect(vault).toEqual({ status: "ok", mode: "keyfile", sealed: false });
    expect(models).toMatchObject({ status: "ok", count: 1 });
    expect(models?.disk_free_bytes).toBeGreaterThan(0);
    expect(metrics).toMatchObject({ status: "ok", interval_s: 5 });
  });
});

describe("GET /api/admin/metrics/series", () => {
  it("adds up to the counters /metrics exposes", async () => {
    const sampler = platform.deps.sampler!;
    await sampler.sampleNow();
    const before = await (await get("/metrics")).text();
    const from = (await (await get("/api/admin/metrics/series?range=15m")).json()) as MetricsSeriesWire;
    const start = from.t[from.t.length - 1]!;

    const result = await generate("hello there");
    for (const path of ["/no/such/1", "/no/such/2", "/api/admin/metrics/series?range=2d"]) {
      await (await get(path)).arrayBuffer();
    }
    // A response is counted when its socket closes, just after the client has read it.
    await sleep(50);
    await sampler.sampleNow();
    const after = await (await get("/metrics")).text();
    const data = (await (await get("/api/admin/metrics/series?range=15m")).json()) as MetricsSeriesWire;

    // Rates × intervals add back to whole counts within float rounding (a few parts per million
    // of the count: 31.000055 for 31 was seen), so three decimals, not four.
    const requests = (cls: string) => (text: string) =>
      total(text, "aixcl_http_requests_total", (labels) => labels.includes(`status="${cls[0]}`));
    for (const cls of ["2xx", "4xx", "5xx"] as const) {
      const counted = requests(cls)(after) - requests(cls)(before);
      expect([cls, gained(data, data.series.requests_by_status[cls], start)]).toEqual([
        cls,
        expect.closeTo(counted, 3),
      ]);
    }
    expect(requests("4xx")(after) - requests("4xx")(before)).toBe(3);
    const prompt = total(after, "aixcl_prompt_tokens_total") - total(before, "aixcl_prompt_tokens_total");
    expect(prompt).toBe(result.prompt_eval_count);
    expect(gained(data, data.series.prompt_tokens_per_s, start)).toBeCloseTo(prompt, 3);
    const generated =
      total(after, "aixcl_generated_tokens_total") - total(before, "aixcl_generated_tokens_total");
    expect(gained(data, data.series.generated_tokens_per_s, start)).toBeCloseTo(generated, 3);
    expect(data.models).toContain(MODEL);
    expect(data.series.ttft_p50_s.some((v) => v !== null && v > 0)).toBe(true);
    expect(data.series.loaded_models[data.t.length - 1]).toBe(1);
    expect(data.series.memory_rss_bytes[data.t.length - 1]).toBeGreaterThan(0);

    const other = (await (
      await get("/api/admin/metrics/series?range=15m&model=none:latest")
    ).json()) as MetricsSeriesWire;
    expect(gained(other, other.series.prompt_tokens_per_s, start)).toBe(0);
    expect(other.series.requests_per_s).toEqual(data.series.requests_per_s);
  });

  it("answers 400 for an unknown range", async () => {
    const response = await get("/api/admin/metrics/series?range=2d");
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: "invalid request: range: must be 15m, 1h or 24h" });
    const day = (await (await get("/api/admin/metrics/series?range=24h")).json()) as MetricsSeriesWire;
    expect(day).toMatchObject({ range: "24h", interval_s: 60 });
  });
});

describe("GET /api/admin/logs", () => {
  const lines = async (query: string) => {
    const response = await get(`/api/admin/logs?${query}`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/x-ndjson");
    const text = await response.text();
    return text === ""
      ? []
      : text
          .trimEnd()
          .split("\n")
          .map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  it("answers the last lines, filtered by level and text, with the request id", async () => {
    const refused = await fetch(`${platform.url}/no/such/logs-1`, { headers: admin });
    const requestId = refused.headers.get("x-request-id");
    await refused.arrayBuffer();
    const found = await lines("q=logs-1");
    expect(found).toEqual([
      expect.objectContaining({ level: 20, msg: "request refused", path: "/no/such/logs-1" }),
    ]);
    expect(found[0]?.req_id).toBe(requestId);
    expect(typeof found[0]?.time).toBe("number");
    expect(await lines("q=logs-1&level=info")).toEqual([]);
    const all = await lines("");
    expect(all.length).toBeGreaterThan(1);
    expect(all.every((line, i) => i === 0 || (line.time as number) >= (all[i - 1]!.time as number))).toBe(
      true,
    );
    const bad = await get("/api/admin/logs?level=loud");
    expect(bad.status).toBe(400);
    await bad.arrayBuffer();
  });

  it("follows new lines until the client goes away", async () => {
    const abort = new AbortController();
    const response = await fetch(`${platform.url}/api/admin/logs?follow=1&q=logs-2`, {
      headers: admin,
      signal: abort.signal,
    });
    expect(response.status).toBe(200);
    expect(tail.followers).toBe(1);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await (await fetch(`${platform.url}/no/such/logs-2`, { headers: admin })).arrayBuffer();
    let text = "";
    while (!text.includes("\n")) text += (await reader.read()).value ?? "";
    expect(JSON.parse(text.trimEnd())).toMatchObject({ msg: "request refused", path: "/no/such/logs-2" });
    abort.abort();
    await expect.poll(() => tail.followers).toBe(0);
  });

  it("ends a follower when the server closes", async () => {
    const response = await fetch(`${platform.url}/api/admin/logs?follow=1&q=never`, { headers: admin });
    expect(tail.followers).toBe(1);
    const started = Date.now();
    const body = response.text();
    await platform.close();
    expect(await body).toBe("");
    // Well under the drain timeout (2 s in tests): the follower did not hold the close.
    expect(Date.now() - started).toBeLessThan(1500);
    expect(tail.followers).toBe(0);
  });
});
