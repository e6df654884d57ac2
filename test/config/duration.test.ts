import { describe, expect, it } from "vitest";
import { parseDuration } from "../../src/config/duration.js";

describe("parseDuration", () => {
  it.each([
    [30, 30_000],
    [0, 0],
    [1.5, 1500],
    ["1.5s", 1500],
    ["300ms", 300],
    ["2h", 7_200_000],
    ["1h30m15s", 5_415_000],
    ["1000us", 1],
    [" 10m ", 600_000],
    ["-1", Infinity],
    [-1, Infinity],
    ["-2h", Infinity],
  ])("%j → %d ms", (input, expected) => {
    expect(parseDuration(input)).toBe(expected);
  });

  it.each(["", "abc", "5 m", "m5", "5d", "--1", "1.2.3s"])("rejects %j", (input) => {
    expect(parseDuration(input)).toBeUndefined();
  });

  it("rejects non-finite numbers", () => {
    expect(parseDuration(Infinity)).toBeUndefined();
    expect(parseDuration(NaN)).toBeUndefined();
  });
});
