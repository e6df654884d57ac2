/**
 * Timestamps as Ollama writes them: RFC 3339 in UTC with up to nanosecond precision and trailing
 * zeros trimmed (Go's time.RFC3339Nano). Date has millisecond precision, so the sub-millisecond
 * part comes from the monotonic clock, anchored once to the wall clock.
 */
const wallAnchorNs = BigInt(Date.now()) * 1_000_000n;
const monoAnchorNs = process.hrtime.bigint();

export function nowRfc3339Nano(): string {
  const ns = wallAnchorNs + (process.hrtime.bigint() - monoAnchorNs);
  return formatRfc3339Nano(ns);
}

/** Formats epoch nanoseconds. */
function formatRfc3339Nano(epochNs: bigint): string {
  const ms = epochNs / 1_000_000n;
  const fraction = (epochNs % 1_000_000_000n).toString().padStart(9, "0").replace(/0+$/, "");
  const base = new Date(Number(ms)).toISOString().slice(0, 19);
  return fraction === "" ? `${base}Z` : `${base}.${fraction}Z`;
}

/** A Date in the same format (times from the store and engine have millisecond precision). */
export function dateToRfc3339(date: Date): string {
  return formatRfc3339Nano(BigInt(date.getTime()) * 1_000_000n);
}
