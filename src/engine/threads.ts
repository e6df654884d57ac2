/**
 * Compute threads for a runner. Never node-llama-cpp's own default of max(4, cores): on a 2-core
 * machine its prebuilt build then collapses to under 1 tok/s (docs/engine.md). "auto" is the
 * cores this process may really use (`os.availableParallelism()` honours CPU affinity).
 */
import { availableParallelism } from "node:os";

/** Cores this process may use. */
export function availableCores(): number {
  return Math.max(1, availableParallelism());
}

/**
 * @param configured `engine.threads` from config ("auto" or a count).
 * @param requested a request's `num_thread` option; overrides the config when positive.
 */
export function resolveThreads(
  configured: "auto" | number,
  requested?: number,
  cores = availableCores(),
): number {
  if (requested !== undefined && Number.isInteger(requested) && requested > 0) return requested;
  if (configured !== "auto") return configured;
  return cores;
}
