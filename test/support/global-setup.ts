/**
 * Vitest global setup: writes the common test models once before any worker starts, so test
 * files do not all generate them at the same moment on the 2 shared cores. The factories are
 * idempotent and cached, so workers calling them again just get the paths.
 */
import { scriptedModel, tinyModel } from "./test-models.js";

export default async function setup(): Promise<void> {
  await Promise.all([tinyModel(), scriptedModel("hello", ["Hello", " world", "!"])]);
}
