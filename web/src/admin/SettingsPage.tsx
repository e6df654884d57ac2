import { useState } from "preact/hooks";
import * as api from "../api/admin-api";
import type { ApiKey } from "../api/admin-types";
import type { Me } from "../api/types";
import { keyColumns } from "./key-columns";
import { useActions, useLoad } from "./use-load";
import { useConfirm } from "./ui/ConfirmDialog";
import { DataTable } from "./ui/DataTable";
import { ErrorNotice } from "./ui/ErrorNotice";
import { PageHeader } from "./ui/PageHeader";
import { SecretOnce } from "./ui/SecretOnce";

const ALL_SCOPES = ["inference", "models:write", "admin"] as const;
const SCOPE_HELP: Record<string, string> = {
  inference: "chat, completions, embeddings",
  "models:write": "pull, create and delete models",
  admin: "everything, including the admin routes",
};
const EXPIRY_DAYS = [
  ["never", "Never"],
  ["1", "1 day"],
  ["7", "7 days"],
  ["30", "30 days"],
  ["90", "90 days"],
  ["365", "1 year"],
] as const;

/** The scopes a user's keys may have: their session's (`admin` grants all). */
const allowedScopes = (me: Me) =>
  me.scopes.includes("admin") ? [...ALL_SCOPES] : ALL_SCOPES.filter((s) => me.scopes.includes(s));

/** Every user's own settings: their API keys (create, shown once; revoke). */
export function SettingsPage({ me }: { me: Me }) {
  const keys = useLoad(api.listOwnKeys, []);
  const actions = useActions();
  const confirm = useConfirm();
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const revoke = (key: ApiKey) =>
    confirm.ask({
      title: `Revoke ${key.name}?`,
      body: "Programs using this key will be refused from now on. This cannot be undone.",
      confirm: "Revoke",
      onConfirm: () => void actions.run(() => api.revokeOwnKey(key.id), keys.reload),
    });

  return (
    <div class="admin-page" data-testid="settings-page">
      <PageHeader
        title="Settings"
        intro={`Signed in as ${me.username ?? "local"} (${me.role}). API keys let programs use this server as you, e.g. the OpenAI client with base URL ${location.origin}/v1.`}
      />
      <ErrorNotice error={keys.error} />
      <ErrorNotice error={actions.error} onDismiss={actions.clear} />
      {created && (
        <SecretOnce
          label={`API key ${created.name}`}
          value={created.key}
          onDismiss={() => setCreated(null)}
        />
      )}
      <CreateKeyForm
        scopes={allowedScopes(me)}
        busy={actions.busy}
        onCreate={(input) =>
          void actions.run(async () => {
            const key = await api.createOwnKey(input);
            setCreated({ name: key.name, key: key.key });
          }, keys.reload)
        }
      />
      <h3 class="section-title">Your API keys</h3>
      <DataTable
        caption="Your API keys"
        testId="own-key-table"
        columns={keyColumns({ showUser: false, busy: actions.busy, onRevoke: revoke })}
        rows={keys.data}
        rowKey={(k) => k.id}
        rowAttrs={(k) => ({
          "data-testid": "own-key-row",
          "data-id": k.id,
          "data-name": k.name,
          "data-status": k.status,
        })}
        empty="You have no API keys."
      />
      {confirm.dialog}
    </div>
  );
}

interface CreateKeyFormProps {
  scopes: string[];
  busy: boolean;
  onCreate: (input: { name: string; scopes: string[]; expires_at?: string }) => void;
}

function CreateKeyForm({ scopes, busy, onCreate }: CreateKeyFormProps) {
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>(["inference"]);
  const [expiry, setExpiry] = useState("never");
  const submit = (event: Event) => {
    event.preventDefault();
    const expires_at =
      expiry === "never" ? undefined : new Date(Date.now() + Number(expiry) * 86_400_000).toISOString();
    onCreate({ name: name.trim(), scopes: chosen, ...(expires_at ? { expires_at } : {}) });
    setName("");
  };
  return (
    <form
      class="card-form"
      data-testid="key-create-form"
      aria-labelledby="key-create-title"
      onSubmit={submit}
    >
      <h3 id="key-create-title" class="section-title">
        New API key
      </h3>
      <div class="inline-form">
        <label class="field">
          <span class="field-label">Name</span>
          <input
            data-testid="key-name"
            required
            maxLength={100}
            placeholder="laptop script"
            value={name}
            onInput={(e) => setName(e.currentTarget.value)}
          />
        </label>
        <label class="field">
          <span class="field-label">Expires</span>
          <select data-testid="key-expiry" value={expiry} onChange={(e) => setExpiry(e.currentTarget.value)}>
            {EXPIRY_DAYS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <fieldset class="scope-set">
        <legend class="field-label">Scopes</legend>
        {scopes.map((scope) => (
          <label key={scope} class="check">
            <input
              type="checkbox"
              data-testid="key-scope"
              data-scope={scope}
              checked={chosen.includes(scope)}
              onChange={(e) => {
                const on = e.currentTarget.checked;
                setChosen((list) => (on ? [...list, scope] : list.filter((s) => s !== scope)));
              }}
            />
            <span>
              <code>{scope}</code> <span class="muted">— {SCOPE_HELP[scope]}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <div>
        <button
          type="submit"
          class="button button-primary"
          data-testid="key-create"
          disabled={busy || name.trim() === "" || chosen.length === 0}
        >
          Create key
        </button>
      </div>
    </form>
  );
}
