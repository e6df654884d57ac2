import { useState } from "preact/hooks";
import * as api from "../api/admin-api";
import type { HealthComponent } from "../api/admin-types";
import { formatBytes, formatDuration, formatRelative } from "./format";
import { useActions, useLiveLoad } from "./use-load";
import { Badge, toneOf } from "./ui/Badge";
import { ErrorNotice } from "./ui/ErrorNotice";
import { PageHeader } from "./ui/PageHeader";

/** Figures whose names say they are bytes are printed as sizes. */
const show = (key: string, value: unknown): string => {
  if (typeof value === "number" && /bytes|^size/.test(key)) return formatBytes(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (value === null || value === undefined) return "—";
  if (typeof value === "string" || typeof value === "number") return String(value);
  return JSON.stringify(value) ?? "—";
};

const TITLES: Record<string, string> = {
  api: "API",
  engine: "Engine",
  database: "Database",
  vault: "Vault",
  models: "Models",
  metrics: "Metrics",
};

/** `/api/admin/health`: the server and each component; the vault's unseal form when sealed. */
export function StatusPage() {
  // While sealed the answer has no components: the last known interval stays.
  const health = useLiveLoad(api.getHealth, [], (answer) =>
    "health" in answer ? (answer.health.components.metrics?.interval_s as number | undefined) : undefined,
  );
  const data = health.data && "health" in health.data ? health.data.health : undefined;
  // Sealed, the server checks no session: the vault's open status is all there is to show.
  const sealedVault = health.data && "sealed" in health.data ? health.data.sealed : undefined;
  const vault = data?.components.vault ?? (sealedVault && { ...sealedVault, status: "sealed" });
  return (
    <div class="admin-page" data-testid="status-page">
      <PageHeader
        title="Status"
        intro={`Health of the server and its components, refreshed every ${formatDuration(health.everyMs / 1000)}.`}
      />
      <ErrorNotice error={health.error} />
      {health.data === undefined && health.error === null && (
        <p class="muted" aria-busy="true">
          Loading the server's health…
        </p>
      )}
      {data && (
        <div class="status-summary" data-testid="health-status" data-status={data.status}>
          <Badge tone={toneOf(data.status)}>{data.status}</Badge>
          <span>
            aixcl {data.version} · profile {data.profile} · up {formatDuration(data.uptime_s)}
          </span>
        </div>
      )}
      {sealedVault && (
        <div class="status-summary" data-testid="health-status" data-status="degraded">
          <Badge tone={toneOf("degraded")}>sealed</Badge>
          <span>Sign-ins, chats and API keys wait until the vault is unsealed.</span>
        </div>
      )}
      {vault?.sealed === true && <UnsealForm keyFile={vault.mode === "keyfile"} onUnsealed={health.reload} />}
      <div class="card-grid">
        {sealedVault && vault && <ComponentCard name="vault" component={vault} />}
        {data &&
          Object.entries(data.components).map(
            ([name, component]) =>
              component && <ComponentCard key={name} name={name} component={component} />,
          )}
      </div>
    </div>
  );
}

function ComponentCard({ name, component }: { name: string; component: HealthComponent }) {
  const { status, runners, ...figures } = component;
  return (
    <section class="card" data-testid="health-component" data-name={name} data-status={status}>
      <div class="card-head">
        <h3 class="card-title">{TITLES[name] ?? name}</h3>
        <Badge tone={toneOf(status)}>{status}</Badge>
      </div>
      <dl class="figures">
        {Object.entries(figures).map(([key, value]) => (
          <div key={key} class="figure">
            <dt>{key.replace(/_/g, " ")}</dt>
            <dd>{show(key, value)}</dd>
          </div>
        ))}
      </dl>
      {Array.isArray(runners) && runners.length > 0 && (
        <ul class="runner-list" aria-label="Runners">
          {(runners as Record<string, unknown>[]).map((runner) => (
            <li key={String(runner.pid)}>
              <strong>{String(runner.model)}</strong> · pid {String(runner.pid)} · {String(runner.status)} ·
              slots {String(runner.slots_busy)}/{String(runner.slots)} · {formatBytes(runner.size as number)}{" "}
              · expires {formatRelative(runner.expires_at as string)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function UnsealForm({ keyFile, onUnsealed }: { keyFile: boolean; onUnsealed: () => void }) {
  const [passphrase, setPassphrase] = useState("");
  const actions = useActions();
  return (
    <form
      class="card-form unseal-form"
      data-testid="vault-unseal-form"
      onSubmit={(e) => {
        e.preventDefault();
        void actions.run(
          () => api.unsealVault(passphrase),
          () => {
            setPassphrase("");
            onUnsealed();
          },
        );
      }}
    >
      <h3 class="section-title">The vault is sealed</h3>
      <p class="muted">
        {keyFile
          ? "Chats and API keys need the vault. Its key is in a key file on the server: unsealing reads it."
          : "Chats and API keys need the vault. Enter its passphrase to unseal it."}
      </p>
      <ErrorNotice error={actions.error} onDismiss={actions.clear} />
      <div class="inline-form">
        {!keyFile && (
          <label class="field field-grow">
            <span class="field-label">Passphrase</span>
            <input
              type="password"
              data-testid="vault-passphrase"
              autocomplete="off"
              required
              value={passphrase}
              onInput={(e) => setPassphrase(e.currentTarget.value)}
            />
          </label>
        )}
        <button
          type="submit"
          class="button button-primary"
          data-testid="vault-unseal-submit"
          disabled={actions.busy || (!keyFile && passphrase === "")}
        >
          Unseal
        </button>
      </div>
    </form>
  );
}
