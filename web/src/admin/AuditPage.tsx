import { useEffect, useState } from "preact/hooks";
import * as api from "../api/admin-api";
import type { AuditEntry } from "../api/admin-types";
import { formatTime } from "./format";
import { useActions } from "./use-load";
import { DataTable, type Column } from "./ui/DataTable";
import { ErrorNotice } from "./ui/ErrorNotice";
import { PageHeader } from "./ui/PageHeader";

const PAGE = 50;

const columns: Column<AuditEntry>[] = [
  { header: "Time", cell: (e) => formatTime(e.at) },
  { header: "Actor", cell: (e) => e.actor },
  { header: "Action", cell: (e) => <code>{e.action}</code> },
  { header: "Target", cell: (e) => e.target ?? "—" },
  { header: "Address", cell: (e) => e.address ?? "—" },
  {
    header: "Details",
    cell: (e) =>
      e.details === null || e.details === undefined ? (
        "—"
      ) : (
        <code class="details" title={JSON.stringify(e.details)}>
          {JSON.stringify(e.details)}
        </code>
      ),
  },
];

/** The audit log, newest first, filtered by action (exact, or a prefix: `login.` / `key*`), paged. */
export function AuditPage() {
  const [input, setInput] = useState("");
  const [action, setAction] = useState("");
  const [entries, setEntries] = useState<AuditEntry[] | undefined>(undefined);
  const [next, setNext] = useState<number | null>(null);
  const actions = useActions();

  const load = (before: number | null) =>
    void actions.run(async () => {
      const page = await api.listAudit({ before, action: action || undefined, limit: PAGE });
      setEntries((list) => (before === null ? page.entries : [...(list ?? []), ...page.entries]));
      setNext(page.next_before);
    });

  useEffect(() => {
    setEntries(undefined);
    load(null);
  }, [action]);

  return (
    <div class="admin-page" data-testid="audit-page">
      <PageHeader title="Audit log" intro="Who changed what: sign-ins, accounts, keys, models, the vault.">
        <form
          class="inline-form"
          role="search"
          onSubmit={(e) => {
            e.preventDefault();
            setAction(input.trim());
          }}
        >
          <label class="field">
            <span class="field-label">Action</span>
            <input
              type="search"
              data-testid="audit-action"
              placeholder="login. or key*"
              value={input}
              onInput={(e) => setInput(e.currentTarget.value)}
            />
          </label>
          <button type="submit" class="button" data-testid="audit-filter">
            Filter
          </button>
        </form>
      </PageHeader>
      <ErrorNotice error={actions.error} onDismiss={actions.clear} />
      <DataTable
        caption="Audit entries"
        testId="audit-table"
        columns={columns}
        rows={entries}
        rowKey={(e) => String(e.id)}
        rowAttrs={(e) => ({ "data-testid": "audit-row", "data-action": e.action })}
        empty={action ? `No entries for “${action}”.` : "No entries."}
      />
      {next !== null && (
        <button
          type="button"
          class="button load-more"
          data-testid="audit-more"
          disabled={actions.busy}
          onClick={() => load(next)}
        >
          Load older entries
        </button>
      )}
    </div>
  );
}
