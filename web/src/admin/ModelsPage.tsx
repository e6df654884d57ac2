import { useEffect, useState } from "preact/hooks";
import * as api from "../api/models-api";
import type { InstalledModel, RunningModel, ShowResponse } from "../api/models-types";
import { formatBytes, formatRelative } from "./format";
import { contextLength, ModelDetails } from "./ModelDetails";
import { PullPanel } from "./PullPanel";
import { usePulls } from "./use-pulls";
import { useActions, useLoad } from "./use-load";
import { useConfirm } from "./ui/ConfirmDialog";
import { DataTable, type Column } from "./ui/DataTable";
import { ErrorNotice } from "./ui/ErrorNotice";
import { PageHeader } from "./ui/PageHeader";

/** How often the running list is read again, ms (expiry counts down, other clients load models). */
const RUNNING_EVERY_MS = 5000;

/** Installed models (with what /api/show says), pulls, the running list; load, unload, delete. */
export function ModelsPage() {
  const installed = useLoad(api.listInstalled, []);
  const running = useLoad(api.listRunning, [], RUNNING_EVERY_MS);
  const [shows, setShows] = useState<Record<string, ShowResponse>>({});
  const [open, setOpen] = useState<string | null>(null);
  const actions = useActions();
  const confirm = useConfirm();
  const pulls = usePulls(installed.reload);

  // /api/show of every installed model, once each (context length, capabilities, details).
  useEffect(() => {
    for (const model of installed.data ?? []) {
      if (shows[model.name]) continue;
      api.showModel(model.name).then(
        (show) => setShows((all) => ({ ...all, [model.name]: show })),
        () => undefined,
      );
    }
  }, [installed.data]);

  const reloadAll = () => {
    installed.reload();
    running.reload();
  };
  const loaded = new Set(running.data?.map((m) => m.name));
  const button = (testId: string, label: string, model: string, onClick: () => void, danger = false) => (
    <button
      type="button"
      class={`button button-small${danger ? " button-danger-text" : ""}`}
      data-testid={testId}
      aria-label={`${label} ${model}`}
      disabled={actions.busy}
      onClick={onClick}
    >
      {label}
    </button>
  );

  const columns: Column<InstalledModel>[] = [
    { header: "Name", class: "name", cell: (m) => <strong>{m.name}</strong> },
    { header: "Size", class: "num", cell: (m) => formatBytes(m.size) },
    {
      header: "Family · params · quant",
      cell: (m) =>
        [m.details.family, m.details.parameter_size, m.details.quantization_level]
          .map((v) => v || "—")
          .join(" · "),
    },
    { header: "Context", class: "num", cell: (m) => contextLength(shows[m.name])?.toLocaleString() ?? "—" },
    {
      header: "Capabilities",
      cell: (m) => (
        <span class="chips" data-testid="model-capabilities">
          {shows[m.name]?.capabilities.map((c) => (
            <span key={c} class="chip">
              {c}
            </span>
          )) ?? "—"}
        </span>
      ),
    },
    {
      header: "Actions",
      class: "actions",
      cell: (m) => (
        <div class="row-actions">
          <button
            type="button"
            class="button button-small"
            data-testid="model-details-toggle"
            aria-expanded={open === m.name}
            aria-label={`Details of ${m.name}`}
            onClick={() => setOpen(open === m.name ? null : m.name)}
          >
            Details
          </button>
          {loaded.has(m.name)
            ? button(
                "model-unload",
                "Unload",
                m.name,
                () => void actions.run(() => api.setKeepAlive(m.name, 0), reloadAll),
              )
            : button(
                "model-load",
                "Load",
                m.name,
                () => void actions.run(() => api.setKeepAlive(m.name, "5m"), reloadAll),
              )}
          {button(
            "model-delete",
            "Delete",
            m.name,
            () =>
              confirm.ask({
                title: `Delete ${m.name}?`,
                body: "The model's files are removed from disk (layers other models share stay). Chats keep their text.",
                confirm: "Delete",
                onConfirm: () => void actions.run(() => api.deleteModel(m.name), reloadAll),
              }),
            true,
          )}
        </div>
      ),
    },
  ];

  const runningColumns: Column<RunningModel>[] = [
    { header: "Name", cell: (m) => <strong>{m.name}</strong> },
    { header: "Memory", class: "num", cell: (m) => formatBytes(m.size) },
    { header: "VRAM", class: "num", cell: (m) => formatBytes(m.size_vram) },
    { header: "Context", class: "num", cell: (m) => m.context_length.toLocaleString() },
    { header: "Expires", cell: (m) => formatRelative(m.expires_at) },
    {
      header: "Actions",
      class: "actions",
      cell: (m) =>
        button(
          "running-unload",
          "Unload",
          m.name,
          () => void actions.run(() => api.setKeepAlive(m.name, 0), reloadAll),
        ),
    },
  ];

  return (
    <div class="admin-page" data-testid="models-page">
      <PageHeader title="Models" intro="Installed models, downloads, and the models loaded in memory." />
      <ErrorNotice error={installed.error ?? running.error} />
      <ErrorNotice error={actions.error} onDismiss={actions.clear} />
      <PullPanel
        pulls={pulls.pulls}
        onStart={pulls.start}
        onCancel={pulls.cancel}
        onDismiss={pulls.dismiss}
      />
      <h3 class="section-title">Installed</h3>
      <DataTable
        caption="Installed models"
        testId="model-table"
        columns={columns}
        rows={installed.data}
        rowKey={(m) => m.name}
        rowAttrs={(m) => ({
          "data-testid": "model-row",
          "data-name": m.name,
          "data-loaded": String(loaded.has(m.name)),
        })}
        empty="No models installed. Pull one above."
      />
      {open !== null && (
        <section class="card-form" aria-label={`Details of ${open}`}>
          <div class="section-head">
            <h3 class="section-title">{open}</h3>
            <button type="button" class="button button-small" onClick={() => setOpen(null)}>
              Close
            </button>
          </div>
          <ModelDetails name={open} show={shows[open]} />
        </section>
      )}
      <h3 class="section-title">Running</h3>
      <DataTable
        caption="Models loaded in memory"
        testId="running-list"
        columns={runningColumns}
        rows={running.data}
        rowKey={(m) => m.name}
        rowAttrs={(m) => ({ "data-testid": "running-row", "data-name": m.name })}
        empty="No model is loaded."
      />
      {confirm.dialog}
    </div>
  );
}
