import { useEffect, useState } from "preact/hooks";
import * as api from "../api/chat-api";
import { describeError } from "../api/errors";
import type { Me, ModelInfo } from "../api/types";
import type { ThemeChoice } from "../preferences";
import { chatPath, navigate, type Route } from "../routes";
import { AdminOutlet } from "./AdminOutlet";
import { ChatView } from "./ChatView";
import { Sidebar } from "./Sidebar";

interface ShellProps {
  me: Me;
  route: Exclude<Route, { page: "login" }>;
  /** Role admin and no admin route has answered 403 since (docs/admin-console.md, Access). */
  isAdmin: boolean;
  theme: ThemeChoice;
  onToggleTheme: () => void;
  onLogout: () => void;
}

/**
 * The signed-in app: the chat list (a drawer on narrow screens) beside the chat, or beside the
 * settings and admin pages (loaded on first visit).
 */
export function Shell(props: ShellProps) {
  const { route } = props;
  const conversationId = route.page === "chat" ? route.conversationId : null;
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [refreshKey, setRefreshKey] = useState(0);
  const [metaKey, setMetaKey] = useState(0);
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [modelsError, setModelsError] = useState<string | null>(null);

  // Listed again whenever the chat is shown: a model may have been pulled or deleted meanwhile.
  const onChat = route.page === "chat";
  useEffect(() => {
    if (!onChat) return;
    api.listModels().then(
      (list) => {
        setModels(list);
        setModelsError(null);
      },
      (error: unknown) => {
        setModels([]);
        setModelsError(`Models could not be listed: ${describeError(error)}`);
      },
    );
  }, [onChat]);

  useEffect(() => {
    if (!drawerOpen) return;
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && setDrawerOpen(false);
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [drawerOpen]);

  const go = (path: string) => {
    setDrawerOpen(false);
    navigate(path);
  };

  return (
    <div class={`shell${drawerOpen ? " shell-drawer-open" : ""}`}>
      {onChat ? (
        <a class="skip-link" href="#composer-input">
          Skip to message input
        </a>
      ) : (
        <a class="skip-link" href="#admin-content">
          Skip to content
        </a>
      )}
      <Sidebar
        me={props.me}
        activeId={conversationId}
        refreshKey={refreshKey}
        open={drawerOpen}
        onNavigate={(id) => go(chatPath(id))}
        isAdmin={props.isAdmin}
        page={route.page === "admin" ? route.section : route.page === "settings" ? "settings" : null}
        onGo={go}
        onClose={() => setDrawerOpen(false)}
        onDeleted={(id) => id === conversationId && navigate(chatPath(null), true)}
        onUpdated={(id) => id === conversationId && setMetaKey((n) => n + 1)}
        onLogout={props.onLogout}
      />
      {drawerOpen && <div class="scrim" aria-hidden="true" onClick={() => setDrawerOpen(false)} />}
      <main class="main">
        {route.page !== "chat" ? (
          <AdminOutlet
            me={props.me}
            section={route.page === "admin" ? route.section : null}
            isAdmin={props.isAdmin}
            theme={props.theme}
            drawerOpen={drawerOpen}
            onToggleTheme={props.onToggleTheme}
            onMenu={() => setDrawerOpen(true)}
          />
        ) : (
          <ChatView
            conversationId={conversationId}
            models={models}
            modelsError={modelsError}
            metaKey={metaKey}
            theme={props.theme}
            drawerOpen={drawerOpen}
            onToggleTheme={props.onToggleTheme}
            onMenu={() => setDrawerOpen(true)}
            onCreated={(id) => {
              navigate(chatPath(id), true);
              setRefreshKey((n) => n + 1);
            }}
            onChanged={() => setRefreshKey((n) => n + 1)}
          />
        )}
      </main>
    </div>
  );
}
