/**
 * Driving the engine directly in tests: collect a generation's text, start one and keep it
 * running, wait for a condition, check a runner's process.
 */
import { expect } from "vitest";
import type { Engine, GenerateEvent, GenerateRequest, GenerateStats } from "../../src/engine/types.js";
import type { AppError } from "../../src/errors.js";

export async function text(engine: Engine, request: GenerateRequest): Promise<string> {
  let out = "";
  for await (const event of engine.generate(request)) if (event.type === "text") out += event.text;
  return out;
}

/** A generation's text and its final stats (it must end with `done`). */
export async function collect(
  engine: Engine,
  request: GenerateRequest,
): Promise<{ text: string; stats: GenerateStats }> {
  let out = "";
  for await (const event of engine.generate(request)) {
    if (event.type === "text") out += event.text;
    else return { text: out, stats: event.stats };
  }
  throw new Error("stream ended without a done event");
}

/**
 * Starts a generation and waits for its first text, so it surely holds a slot and is running.
 * `ended` drains the rest and resolves to the error that ended it, or undefined.
 */
export async function started(
  engine: Engine,
  request: GenerateRequest,
): Promise<{ ended: Promise<AppError | undefined> }> {
  const iterator = engine.generate(request)[Symbol.asyncIterator]();
  const first = await iterator.next();
  expect((first.value as GenerateEvent).type).toBe("text");
  const ended = (async () => {
    try {
      for (;;) if ((await iterator.next()).done) return undefined;
    } catch (error) {
      return error as AppError;
    }
  })();
  return { ended };
}

export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}
