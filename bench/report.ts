/** Medians and the printed table of the benchmark. */
export function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export interface Row {
  label: string;
  /** One value per round. */
  values: number[];
}

const fmt = (value: number, digits = Math.abs(value) < 10 ? 2 : 1): string =>
  Number.isFinite(value) ? value.toFixed(digits) : "n/a";

/** A table of per-round values and their median. */
export function table(title: string, rows: Row[]): string {
  const rounds = Math.max(...rows.map((row) => row.values.length));
  const width = Math.max(...rows.map((row) => row.label.length), title.length);
  const head = [
    title.padEnd(width),
    ...Array.from({ length: rounds }, (_, i) => `r${i + 1}`.padStart(8)),
    "median".padStart(8),
  ];
  const lines = [head.join("  ")];
  for (const row of rows) {
    const cells = Array.from({ length: rounds }, (_, i) => fmt(row.values[i] ?? NaN).padStart(8));
    lines.push([row.label.padEnd(width), ...cells, fmt(median(row.values)).padStart(8)].join("  "));
  }
  return lines.join("\n");
}

export function ratio(label: string, numerator: number, denominator: number): string {
  return `${label} = ${fmt(numerator / denominator, 2)}`;
}
