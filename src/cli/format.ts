/** Text output the commands share: tables and human times, in the style Ollama prints. */

/** Columns padded to their widest cell, three spaces apart (as `ollama list` prints). */
export function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("   "))
    .join("\n");
}

/** "3 minutes ago" / "in 4 minutes", coarse like Ollama's human time. */
export function relativeTime(when: Date, now = Date.now()): string {
  const seconds = Math.round((when.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const [amount, unit] =
    abs < 60
      ? [abs, "second"]
      : abs < 3600
        ? [Math.floor(abs / 60), "minute"]
        : abs < 86_400
          ? [Math.floor(abs / 3600), "hour"]
          : [Math.floor(abs / 86_400), "day"];
  if (abs < 2) return seconds < 0 ? "Just now" : "Now";
  const text = `${amount} ${unit}${amount === 1 ? "" : "s"}`;
  return seconds < 0 ? `${text} ago` : `${text} from now`;
}
