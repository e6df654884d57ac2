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
 * @param configured `engine.threads` from config ("auto" or a count): the operator's choice.
 * @param requested a request's (or a model's stored) `num_thread` option; overrides the config
 *   when positive, at most `cores`: a client may ask for fewer threads, never for more than the
 *   machine has. llama.cpp starts every thread it is told to, and `num_thread: 100000` from one
 *   request made a runner start over 12,000 threads and the machine's load average reach 830.
 */
export function resolveThreads(
  configured: "auto" | number,
  requested?: number,
  cores = availableCores(),
): number {
  if (requested !== undefined && Number.isInteger(requested) && requested > 0) {
    return Math.min(requested, cores);
  }
  if (configured !== "auto") return configured;
  return cores;
}
