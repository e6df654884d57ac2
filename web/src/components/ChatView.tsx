import { useEffect, useState } from "preact/hooks";
import type { ModelInfo } from "../api/types";
import { useChat } from "../hooks/use-chat";
import { storedModel, storeModel, type ThemeChoice } from "../preferences";
import { ChatHeader } from "./ChatHeader";
import { Composer } from "./Composer";
import { MessageList } from "./MessageList";
import { SettingsPanel } from "./SettingsPanel";

interface ChatViewProps {
  conversationId: string | null;
  models: ModelInfo[] | null;
  modelsError: string | null;
  /** Changes when the open chat was renamed or pinned elsewhere (the sidebar). */
  metaKey: number;
  theme: ThemeChoice;
  drawerOpen: boolean;
  onToggleTheme: () => void;
  onMenu: () => void;
  onCreated: (conversationId: string) => void;
  onChanged: () => void;
}

/** The model a new chat starts with: the last one picked if still installed, else the first. */
function defaultModel(models: ModelInfo[] | null): string | null {
  const last = storedModel();
  if (models === null) return last;
  return models.find((m) => m.name === last)?.name ?? models[0]?.name ?? null;
}

export function ChatView(props: ChatViewProps) {
  const chat = useChat(props.conversationId, defaultModel(props.models), {
    onCreated: props.onCreated,
    onChanged: props.onChanged,
  });
  useEffect(() => {
    if (props.metaKey > 0) chat.reloadConversation();
  }, [props.metaKey]);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const { models } = props;

  // A new chat whose model is unknown (first visit, or models arrived later) takes the default.
  useEffect(() => {
    if (chat.conversation || models === null) return;
    if (chat.settings.model !== null && models.some((m) => m.name === chat.settings.model)) return;
    const model = defaultModel(models);
    if (model !== null) void chat.updateSettings({ model });
  }, [models, chat.conversation, chat.settings.model]);

  const title = chat.conversation ? chat.conversation.title.trim() || "New chat" : "New chat";
  const noModels = models !== null && models.length === 0;

  const empty = (
    <div class="chat-empty" data-testid="chat-empty">
      <h2 class="chat-empty-title">How can I help?</h2>
      {props.modelsError !== null ? (
        <p class="chat-empty-text">{props.modelsError}</p>
      ) : noModels ? (
        <p class="chat-empty-text">
          No models are installed. Add one on the server with <code>aixcl models add &lt;name&gt;</code>.
        </p>
      ) : (
        <p class="chat-empty-text">
          Ask anything. <kbd>Enter</kbd> sends, <kbd>Shift</kbd>+<kbd>Enter</kbd> adds a line, <kbd>Esc</kbd>{" "}
          stops.
        </p>
      )}
    </div>
  );

  return (
    <div class="chat-view">
      <ChatHeader
        title={title}
        models={models}
        model={chat.settings.model}
        settingsOpen={settingsOpen}
        theme={props.theme}
        drawerOpen={props.drawerOpen}
        onMenu={props.onMenu}
        onModel={(model) => {
          storeModel(model);
          void chat.updateSettings({ model });
        }}
        onToggleSettings={() => setSettingsOpen((open) => !open)}
        onToggleTheme={props.onToggleTheme}
      />
      <div class="chat-body">
        <div class="chat-main">
          <MessageList chat={chat} empty={empty} />
          <div class="composer-wrap">
            <Composer
              busy={chat.busy}
              disabled={chat.loading || chat.settings.model === null}
              onSend={(text) => void chat.send(text)}
              onStop={() => void chat.stop()}
            />
          </div>
        </div>
        {settingsOpen && (
          <SettingsPanel
            // Another chat's panel starts afresh: what was typed and not saved stays with its chat.
            key={chat.conversation?.id ?? "new"}
            settings={chat.settings}
            onClose={() => setSettingsOpen(false)}
            onSave={(patch) => {
              void chat.updateSettings(patch);
              setSettingsOpen(false);
            }}
          />
        )}
      </div>
    </div>
  );
}
