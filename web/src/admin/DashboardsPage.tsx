import { useState } from "preact/hooks";
import { getMetrics } from "../api/admin-api";
import type { MetricsRange } from "../api/admin-types";
import type { ThemeChoice } from "../preferences";
import { Chart } from "./Chart";
import { CHARTS } from "./charts";
import { formatDuration } from "./format";
import { useLiveLoad } from "./use-load";
import { ErrorNotice } from "./ui/ErrorNotice";
import { PageHeader } from "./ui/PageHeader";

const RANGES: MetricsRange[] = ["15m", "1h", "24h"];
/** The built-in dashboards: uPlot charts of the server's own metrics, live at its sample interval. */
export function DashboardsPage({ theme }: { theme: ThemeChoice }) {
  const [range, setRange] = useState<MetricsRange>("15m");
  const [model, setModel] = useState<string | null>(null);
  // The 24 h range's points are a minute apart; its last one is still the sampler's latest fold.
  const metrics = useLiveLoad(
    () => getMetrics(range, model),
    [range, model],
    (series) => (series.range === "24h" ? undefined : series.interval_s),
  );
  const data = metrics.data;
  return (
    <div class="admin-page" data-testid="dashboards-page">
      <PageHeader
        title="Dashboards"
        intro={`Traffic, tokens, latency and resources of this server, live every ${formatDuration(metrics.everyMs / 1000)}.`}
      >
        <div class="segmented" role="radiogroup" aria-label="Time range" data-testid="range-picker">
          {RANGES.map((r) => (
            <button
              key={r}
              type="button"
              role="radio"
              aria-checked={range === r}
              class={`segment${range === r ? " segment-active" : ""}`}
              data-testid={`range-${r}`}
              onClick={() => setRange(r)}
            >
              {r}
            </button>
          ))}
        </div>
        <label class="field">
          <span class="field-label">Model</span>
          <select
            data-testid="model-filter"
            value={model ?? ""}
            onChange={(e) => setModel(e.currentTarget.value === "" ? null : e.currentTarget.value)}
          >
            <option value="">All models</option>
            {data?.models.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
      </PageHeader>
      <ErrorNotice error={metrics.error} />
      {data === undefined && metrics.error === null && <p class="muted">Loading metrics…</p>}
      {data && (
        <div class="chart-grid" data-testid="charts" data-points={data.t.length}>
          {CHARTS.map((spec) => (
            <Chart key={spec.id} spec={spec} metrics={data} theme={theme} />
          ))}
        </div>
      )}
    </div>
  );
}
