import "../styles/admin.css";
import type { AdminOutletProps } from "../components/AdminOutlet";
import { MenuButton } from "../components/MenuButton";
import { ThemeToggle } from "../components/ThemeToggle";
import { useLazy } from "../hooks/use-lazy";
import { SECTION_TITLES } from "../routes";
import { AuditPage } from "./AuditPage";
import { KeysPage } from "./KeysPage";
import { LogsPage } from "./LogsPage";
import { ModelsPage } from "./ModelsPage";
import { SettingsPage } from "./SettingsPage";
import { StatusPage } from "./StatusPage";
import { UsersPage } from "./UsersPage";

/** The dashboards bring uPlot: a chunk of their own, fetched only when they are opened. */
function Dashboards(props: { theme: AdminOutletProps["theme"] }) {
  const { module, error } = useLazy(() => import("./DashboardsPage"));
  if (error !== null)
    return (
      <div class="notice notice-error" role="alert" data-testid="admin-error">
        The dashboards could not be loaded. Reload the page to try again.
      </div>
    );
  return module ? <module.DashboardsPage theme={props.theme} /> : <p class="muted">Loading…</p>;
}

function Page(props: AdminOutletProps) {
  if (props.section === null) return <SettingsPage me={props.me} />;
  if (!props.isAdmin) {
    return (
      <div class="admin-page">
        <div class="notice notice-error" role="alert" data-testid="admin-forbidden">
          <strong>Admin rights required.</strong> This page is for administrators only.
        </div>
      </div>
    );
  }
  switch (props.section) {
    case "users":
      return <UsersPage self={props.me.username} />;
    case "keys":
      return <KeysPage />;
    case "models":
      return <ModelsPage />;
    case "status":
      return <StatusPage />;
    case "dashboards":
      return <Dashboards theme={props.theme} />;
    case "logs":
      return <LogsPage />;
    case "audit":
      return <AuditPage />;
  }
}

/** The settings page and the admin console's pages, with a header like the chat's. */
export function AdminMain(props: AdminOutletProps) {
  const title = props.section === null ? "Settings" : `Admin · ${SECTION_TITLES[props.section]}`;
  return (
    <div class="admin-view">
      <header class="chat-header">
        <MenuButton drawerOpen={props.drawerOpen} onMenu={props.onMenu} />
        <h1 class="chat-title" data-testid="page-title">
          {title}
        </h1>
        <ThemeToggle theme={props.theme} onToggle={props.onToggleTheme} />
      </header>
      <div class="admin-scroll" id="admin-content" tabIndex={-1}>
        {/* Keyed by page: each page starts from its own fresh state. */}
        <Page key={props.section ?? "settings"} {...props} />
      </div>
    </div>
  );
}
