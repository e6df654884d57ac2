/**
 * The aixcl chat app: login, then the chat list beside the chat (docs/web-app.md), the settings
 * page and, for admins, the admin console (docs/admin-console.md).
 *
 * Stable hooks for the Chromium e2e tests (data-testid unless noted):
 *   login        login-form, login-username, login-password, login-submit, login-error (role=alert)
 *   shell        sidebar, menu-button (opens the drawer below 800 px), drawer-close, theme-toggle,
 *                current-user, logout
 *   chat list    new-chat, conversation-search (type=search), conversation-list,
 *                conversation-item (data-id, data-pinned) with conversation-pin, conversation-rename,
 *                conversation-rename-input, conversation-delete, conversation-delete-confirm,
 *                conversation-delete-cancel; the item's link has aria-current=page when open
 *   chat         chat-title, model-picker (a <select>), settings-toggle, settings-panel with
 *                settings-system, settings-temperature, settings-num-ctx, settings-num-predict,
 *                settings-save; chat-empty (a new chat), chat-error (role=alert) with retry
 *   messages     message-list; each message: message (data-role user|assistant, data-status
 *                done|streaming|stopped|error|pending, data-id), message-stats, message-stopped,
 *                message-error, tool-call and json-output (<details>), code-copy (per code block),
 *                version-nav with version-prev, version-count ("2/3"), version-next,
 *                regenerate (answers), edit-message (user messages) → edit-input, edit-send;
 *                live-answer (the aria-live region), jump-bottom
 *   composer     composer (the textarea, label "Message"), send, stop
 *
 * Settings and admin pages (docs/admin-console.md; loaded lazily from src/admin/):
 *   navigation   admin-nav (admins only) with admin-nav-link (data-section), settings-link (the
 *                account line), page-title; <section>-page on each page (users-page, keys-page,
 *                models-page, status-page, dashboards-page, logs-page, audit-page, settings-page);
 *                admin-forbidden ("Admin rights required"), admin-error (role=alert)
 *   shared       confirm-dialog with confirm-ok, confirm-cancel; secret-once (shown once) with
 *                secret-value, secret-copy, secret-dismiss
 *   users        user-create-form, user-create-username, user-create-role, user-create-submit,
 *                signup-toggle; user-row (data-username, data-status, data-role) with user-role
 *                (a <select>), user-approve, user-reject, user-enable, user-disable,
 *                user-reset-password, user-delete
 *   keys         key-row (data-id, data-name, data-status) with key-revoke; settings: key-create-form,
 *                key-name, key-expiry, key-scope (data-scope), key-create, own-key-row, key-revoke
 *   models       pull-form, pull-name, pull-insecure, pull-submit; pull-item (data-name, data-state
 *                running|done|error|cancelled) with pull-message, pull-layer (data-completed),
 *                pull-cancel, pull-dismiss; model-row (data-name, data-loaded) with
 *                model-capabilities, model-details-toggle, model-load, model-unload, model-delete;
 *                model-details; running-list with running-row (data-name), running-unload
 *   status       health-status (data-status), health-component (data-name, data-status),
 *                vault-unseal-form, vault-passphrase, vault-unseal-submit
 *   dashboards   range-picker with range-15m|1h|24h, model-filter, charts (data-points),
 *                chart-<id> (data-last: latest non-null of its first line; ids requests, status,
 *                tokens, ttft, queue, models, memory, cpu), series-<key> (data-last, data-max
 *                over the range; key with "." as "-", e.g. series-generated_tokens_per_s,
 *                series-requests_by_status-2xx)
 *   logs         logs-level, logs-filter, logs-state (data-live), log-lines, log-line
 *                (data-level), log-req-id (filters by that request)
 *   audit        audit-action, audit-filter, audit-row (data-action), audit-more
 */
import { useEffect, useState } from "preact/hooks";
import * as api from "./api/chat-api";
import { onAdminForbidden, onUnauthorized } from "./api/client";
import type { Me } from "./api/types";
import { LoginPage } from "./components/LoginPage";
import { Shell } from "./components/Shell";
import { navigate, useRoute } from "./routes";
import { useTheme } from "./theme";

export function App() {
  const route = useRoute();
  const { theme, toggle } = useTheme();
  // undefined: still asking the server who we are.
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  // An admin route answered 403: this account is no longer an admin; the admin nav goes away.
  const [adminDenied, setAdminDenied] = useState(false);

  useEffect(() => {
    api.getMe().then(
      (user) => setMe(user),
      () => setMe(null),
    );
    const offUnauthorized = onUnauthorized(() => setMe(null));
    const offForbidden = onAdminForbidden(() => setAdminDenied(true));
    return () => {
      offUnauthorized();
      offForbidden();
    };
  }, []);
  // A new sign-in starts from what the server says of the new session.
  useEffect(() => setAdminDenied(false), [me]);

  // Where a signed-out visit was headed (a shared /c/<id> link): back there after login.
  const [returnTo, setReturnTo] = useState("/");
  useEffect(() => {
    if (me === null && route.page !== "login") {
      setReturnTo(location.pathname);
      navigate("/login", true);
    }
    if (me && route.page === "login") navigate(returnTo, true);
  }, [me, route.page]);

  if (me === undefined) {
    return (
      <div class="splash" aria-busy="true">
        Loading…
      </div>
    );
  }
  if (me === null || route.page === "login") {
    return <LoginPage onLogin={setMe} theme={theme} onToggleTheme={toggle} />;
  }
  const logout = () => {
    api.logout().then(
      () => setMe(null),
      () => setMe(null),
    );
  };
  return (
    <Shell
      me={me}
      route={route}
      isAdmin={me.role === "admin" && !adminDenied}
      theme={theme}
      onToggleTheme={toggle}
      onLogout={logout}
    />
  );
}
