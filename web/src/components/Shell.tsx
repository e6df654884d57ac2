import { useEffect, useState } from "preact/hooks";
import * as api from "../api/chat-api";
import { describeError } from "../api/errors";
import type { Me, ModelInfo } from "../api/types";
import type { ThemeChoice } from "../preferences";
import { chatPath, navigate } from "../routes";
import { ChatView } from "./ChatView";
import { Sidebar } from "./Sidebar";

interface ShellProps {
  me: Me;
  conversationId: string | null;
  theme: ThemeChoice;
  onToggleTheme: () => void;
  onLogout: () => void;
}

/** The signed-in app: the chat list (a drawer on narrow screens) beside the chat. */
export function Shell(props: ShellProps) {
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [refreshKey, setRefreshKey] = useState(0);
  const [metaKey, setMetaKey] = useState(0);
  const [models, setModels] = useState<ModelInfo[] | null>(null);
  const [modelsError, setModelsError] = useState<string | null>(null);

  useEffect(() => {
    api.listModels().then(setModels, (error: unknown) => {
      setModels([]);
      setModelsError(`Models could not be listed: ${describeError(error)}`);
    });
  }, []);

  useEffect(() => {
    if (!drawerOpen) return;
    const onKey = (event: KeyboardEvent) => event.key === "Escape" && setDrawerOpen(false);
    addEventListener("keydown", onKey);
    return () => removeEventListener("keydown", onKey);
  }, [drawerOpen]);

  const open = (conversationId: string | null) => {
    setDrawerOpen(false);
    navigate(chatPath(conversationId));
  };

  return (
    <div class={`shell${drawerOpen ? " shell-drawer-open" : ""}`}>
      <a class="skip-link" href="#composer-input">
        Skip to message input
      </a>
      <Sidebar
        me={props.me}
        activeId={props.conversationId}
        refreshKey={refreshKey}
        open={drawerOpen}
        onNavigate={open}
        onClose={() => setDrawerOpen(false)}
        onDeleted={(id) => id === props.conversationId && navigate(chatPath(null), true)}
        onUpdated={(id) => id === props.conversationId && setMetaKey((n) => n + 1)}
        onLogout={props.onLogout}
      />
      {drawerOpen && <div class="scrim" aria-hidden="true" onClick={() => setDrawerOpen(false)} />}
      <main class="main">
        <ChatView
          conversationId={props.conversationId}
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
      </main>
    </div>
  );
}
