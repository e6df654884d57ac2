import { describe, expect, it } from "vitest";
import type { MetricsSeries } from "../api/admin-types";
import { CHARTS, lastValue, latency, maxValue, rate, seriesId, seriesOf } from "./charts";
import { formatBytes, formatDuration } from "./format";
import { generatePassword } from "./password";

const metrics: MetricsSeries = {
  range: "15m",
  interval_s: 5,
  models: [],
  t: [1, 2, 3],
  series: { requests_per_s: [1, 2, null], requests_by_status: { "2xx": [0, 3, 4] } },
};

describe("the dashboard's series", () => {
  it("reads flat and nested series, and an absent one as empty", () => {
    expect(seriesOf(metrics, "requests_per_s")).toEqual([1, 2, null]);
    expect(seriesOf(metrics, "requests_by_status.2xx")).toEqual([0, 3, 4]);
    expect(seriesOf(metrics, "requests_by_status.5xx")).toEqual([]);
    expect(seriesOf(metrics, "cpu_percent")).toEqual([]);
  });

  it("takes the latest value that is not null for data-last", () => {
    expect(lastValue([1, 2, null])).toBe(2);
    expect(lastValue([null, null])).toBeNull();
    expect(lastValue([0])).toBe(0);
  });

  it("takes the largest value that is not null for data-max", () => {
    expect(maxValue([0, 3, null, 2])).toBe(3);
    expect(maxValue([null, -1, -2])).toBe(-1);
    expect(maxValue([null])).toBeNull();
    expect(maxValue([])).toBeNull();
  });

  it("charts every series of the contract once, with distinct test ids", () => {
    const keys = CHARTS.flatMap((chart) => chart.lines.map((line) => line.key));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(15);
    expect(seriesId("requests_by_status.2xx")).toBe("requests_by_status-2xx");
    expect(new Set(CHARTS.map((chart) => chart.id)).size).toBe(CHARTS.length);
  });
});

describe("formatting and generated passwords", () => {
  it("prints sizes and durations", () => {
    expect(formatBytes(522_000)).toBe("522 KB");
    expect(formatBytes(4_500_000_000)).toBe("4.5 GB");
    expect(formatBytes(null)).toBe("—");
    expect(formatDuration(5400)).toBe("1.5 h");
  });

  it("prints chart values as a person reads them: no trailing zeros, latencies below 1 s in ms", () => {
    expect([0, 5, 10, 12.5, 0.37, 123.4].map(rate)).toEqual(["0", "5", "10", "12.5", "0.37", "123"]);
    expect([0, 0.0054, 0.02, 0.25, 1, 2.345].map(latency)).toEqual([
      "0 ms",
      "5.4 ms",
      "20 ms",
      "250 ms",
      "1 s",
      "2.35 s",
    ]);
  });

  it("generates 20 characters from an unambiguous alphabet, different each time", () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-HJ-NP-Za-km-z2-9]{20}$/);
    expect(generatePassword()).not.toBe(a);
  });
});
