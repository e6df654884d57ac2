/**
 * The unseal throttle's arithmetic on a controlled clock: a fixed delay on every attempt, a
 * penalty and 429 for a caller over its limit, a capped global slow-down (never a refusal), and a
 * reset on success. The HTTP behaviour is in test/vault/server.test.ts.
 */
import { describe, expect, it } from "vitest";
import { createUnsealThrottle } from "../../src/auth/unseal-throttle.js";

describe("unseal throttle", () => {
  it("slows and flags one caller, slows everyone a capped amount, forgets on success and with time", () => {
    let now = 1_000_000;
    const throttle = createUnsealThrottle({
      perCaller: 2,
      global: 3,
      windowMs: 60_000,
      fixedDelayMs: 10,
      callerPenaltyMs: 500,
      globalStepMs: 100,
      maxGlobalDelayMs: 250,
      now: () => now,
    });
    expect(throttle.delayMs("a")).toBe(10);
    expect(throttle.recordFailure("a")).toBe(0);
    expect(throttle.recordFailure("a")).toBe(0);
    // Over its limit: penalized, and its wrong answers carry a Retry-After.
    expect(throttle.delayMs("a")).toBe(510);
    expect(throttle.recordFailure("a")).toBe(60);
    expect(throttle.delayMs("b")).toBe(10);
    // Beyond three failures in all, every caller waits 100 ms more per failure, at most 250.
    expect(throttle.recordFailure("b")).toBe(0);
    expect(throttle.delayMs("b")).toBe(110);
    for (const caller of ["c", "d", "e", "f"]) throttle.recordFailure(caller);
    expect(throttle.delayMs("g")).toBe(260);
    expect(throttle.delayMs("a")).toBe(760);

    throttle.recordSuccess();
    expect(throttle.delayMs("a")).toBe(10);
    expect(throttle.recordFailure("a")).toBe(0);

    // Failures leave the window with time.
    throttle.recordFailure("a");
    now += 60_001;
    expect(throttle.delayMs("a")).toBe(10);
  });
});
