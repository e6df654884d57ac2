/**
 * Ollama-style durations: a number is seconds, a string is a Go duration ("5m", "1h30m", "300ms",
 * "-1m") or a bare number. Negative means "forever". Returns milliseconds, `Infinity` for forever.
 */
const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

export function parseDuration(value: number | string): number | undefined {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return undefined;
    return value < 0 ? Infinity : value * 1000;
  }
  const text = value.trim();
  if (text === "") return undefined;
  if (/^-?\d+(\.\d+)?$/.test(text)) return parseDuration(Number(text));
  const match = /^(-?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
  if (!match) return undefined;
  let total = 0;
  for (const part of (match[2] ?? "").matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (UNIT_MS[part[2] ?? ""] ?? NaN);
  }
  if (!Number.isFinite(total)) return undefined;
  return match[1] === "-" ? Infinity : total;
}

/** ms → a Go-style duration that parseDuration reads back ("5m", "90s", "250ms"); forever → "-1". */
export function formatDuration(ms: number): string {
  if (ms === Infinity) return "-1";
  if (ms === 0) return "0";
  for (const unit of ["h", "m", "s"] as const) {
    const size = UNIT_MS[unit] ?? 1;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
