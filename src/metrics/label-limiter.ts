/**
 * Bounds the distinct values a metric label may take. Clients choose model names (and could send
 * a fresh one per request), so every label value they influence passes through a limiter: the
 * first `max` distinct values are kept as they are, later new ones collapse into `overflow`.
 * Without this a client could grow the registry (and every scrape) without bound.
 */
export interface LabelLimiter {
  /** The label value to record for `value`: itself while under the cap, else the overflow value. */
  label(value: string): string;
  /** Distinct values admitted so far (not counting the overflow value). */
  readonly size: number;
}

export interface LabelLimiterOptions {
  /** Most distinct values kept. */
  max: number;
  /** Value used once the cap is reached. Default "other". */
  overflow?: string;
  /** Longest value kept, characters; longer ones are cut. Default 128. */
  maxLength?: number;
}

export function createLabelLimiter(options: LabelLimiterOptions): LabelLimiter {
  const overflow = options.overflow ?? "other";
  const maxLength = options.maxLength ?? 128;
  const seen = new Set<string>();
  return {
    label(value: string): string {
      const bounded = value.length > maxLength ? value.slice(0, maxLength) : value;
      if (seen.has(bounded)) return bounded;
      if (seen.size >= options.max) return overflow;
      seen.add(bounded);
      return bounded;
    },
    get size() {
      return seen.size;
    },
  };
}
