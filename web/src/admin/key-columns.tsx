import type { ApiKey } from "../api/admin-types";
import { formatTime } from "./format";
import { Badge, toneOf } from "./ui/Badge";
import type { Column } from "./ui/DataTable";

/** The columns of a key table, on the Keys page (every user's) and on Settings (one's own). */
export function keyColumns(options: {
  showUser: boolean;
  busy: boolean;
  onRevoke: (key: ApiKey) => void;
}): Column<ApiKey>[] {
  const columns: Column<ApiKey>[] = [
    { header: "Name", cell: (k) => <strong>{k.name}</strong> },
    { header: "Key", cell: (k) => <code>aixcl_{k.prefix}_…</code> },
  ];
  if (options.showUser) columns.push({ header: "User", cell: (k) => k.user });
  columns.push(
    { header: "Scopes", cell: (k) => k.scopes.join(", ") },
    { header: "Status", cell: (k) => <Badge tone={toneOf(k.status)}>{k.status}</Badge> },
    { header: "Expires", cell: (k) => formatTime(k.expires_at) },
    { header: "Last used", cell: (k) => formatTime(k.last_used_at) },
    {
      header: "Actions",
      class: "actions",
      cell: (k) =>
        k.status === "active" && (
          <button
            type="button"
            class="button button-small button-danger-text"
            data-testid="key-revoke"
            aria-label={`Revoke ${k.name}`}
            disabled={options.busy}
            onClick={() => options.onRevoke(k)}
          >
            Revoke
          </button>
        ),
    },
  );
  return columns;
}
