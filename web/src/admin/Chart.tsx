import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MetricsSeries } from "../api/admin-types";
import type { ThemeChoice } from "../preferences";
import { lastValue, maxValue, seriesId, seriesOf, type ChartSpec } from "./charts";

const HEIGHT = 180;

/** A theme colour from the stylesheet (the CSS variables switch with html[data-theme]). */
const cssVar = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function options(spec: ChartSpec, width: number): uPlot.Options {
  const text = cssVar("--text-muted");
  const grid = cssVar("--border");
  const axis: uPlot.Axis = {
    stroke: text,
    grid: { stroke: grid, width: 1 },
    ticks: { stroke: grid, width: 1 },
  };
  const format = spec.format;
  return {
    width,
    height: HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: {
      x: { time: true },
      y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.1 : 1] },
    },
    axes: [
      axis,
      {
        ...axis,
        size: 64,
        ...(format ? { values: (_u: uPlot, ticks: number[]) => ticks.map((v) => format(v)) } : {}),
      },
    ],
    series: [
      {},
      ...spec.lines.map((line, i) => ({
        label: line.label,
        stroke: cssVar(`--chart-${i + 1}`),
        width: 2,
        spanGaps: false,
        // uPlot's default draws points only where they are sparse: a lone value between gaps
        // (one finished generation in a quiet hour) is then a dot, not nothing.
      })),
    ],
  };
}

/**
 * One uPlot chart of the dashboard. Its latest values are on the page as data, not pixels:
 * the figure's `data-last` (first line) and each legend item's `data-last` and `data-max` (the
 * largest in the range: at a 1 s sample interval a burst is gone from `data-last` a second later).
 */
export function Chart({
  spec,
  metrics,
  theme,
}: {
  spec: ChartSpec;
  metrics: MetricsSeries;
  theme: ThemeChoice;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const values = spec.lines.map((line) => seriesOf(metrics, line.key));
  const data: uPlot.AlignedData = [metrics.t, ...values];

  // Created again when the theme changes: uPlot draws on a canvas with the colours it was given.
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const chart = new uPlot(options(spec, Math.max(el.clientWidth, 200)), data, el);
    plot.current = chart;
    const observer = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(el.clientWidth, 200), height: HEIGHT }),
    );
    observer.observe(el);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [theme]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [metrics]);

  const lasts = values.map(lastValue);
  const show = (value: number | null) => (value === null ? "—" : (spec.format ?? String)(value));
  return (
    <figure class="chart" data-testid={`chart-${spec.id}`} data-last={lasts[0] ?? ""}>
      <figcaption class="chart-title">{spec.title}</figcaption>
      <div ref={box} class="chart-canvas" role="img" aria-label={`${spec.title} over time`} />
      <ul class="chart-legend">
        {spec.lines.map((line, i) => (
          <li
            key={line.key}
            data-testid={`series-${seriesId(line.key)}`}
            data-last={lasts[i] ?? ""}
            data-max={maxValue(values[i] ?? []) ?? ""}
          >
            <span class={`swatch swatch-${i + 1}`} aria-hidden="true" />
            {line.label}: <strong>{show(lasts[i] ?? null)}</strong>
          </li>
        ))}
      </ul>
    </figure>
  );
}
