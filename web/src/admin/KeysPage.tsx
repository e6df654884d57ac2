import * as api from "../api/admin-api";
import type { ApiKey } from "../api/admin-types";
import { useActions, useLoad } from "./use-load";
import { keyColumns } from "./key-columns";
import { useConfirm } from "./ui/ConfirmDialog";
import { DataTable } from "./ui/DataTable";
import { ErrorNotice } from "./ui/ErrorNotice";
import { PageHeader } from "./ui/PageHeader";

/** Every user's API keys; an admin revokes any of them. */
export function KeysPage() {
  const keys = useLoad(api.listAllKeys, []);
  const actions = useActions();
  const confirm = useConfirm();
  const revoke = (key: ApiKey) =>
    confirm.ask({
      title: `Revoke ${key.name}?`,
      body: `Requests with aixcl_${key.prefix}_… (${key.user}) will be refused from now on. This cannot be undone.`,
      confirm: "Revoke",
      onConfirm: () => void actions.run(() => api.revokeAnyKey(key.id), keys.reload),
    });
  return (
    <div class="admin-page" data-testid="keys-page">
      <PageHeader
        title="API keys"
        intro="Every user's keys. Users create their own on their Settings page."
      />
      <ErrorNotice error={keys.error} />
      <ErrorNotice error={actions.error} onDismiss={actions.clear} />
      <DataTable
        caption="API keys"
        testId="key-table"
        columns={keyColumns({ showUser: true, busy: actions.busy, onRevoke: revoke })}
        rows={keys.data}
        rowKey={(k) => k.id}
        rowAttrs={(k) => ({
          "data-testid": "key-row",
          "data-id": k.id,
          "data-name": k.name,
          "data-status": k.status,
        })}
        empty="No API keys yet."
      />
      {confirm.dialog}
    </div>
  );
}
