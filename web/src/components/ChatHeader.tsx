import type { ModelInfo } from "../api/types";
import type { ThemeChoice } from "../preferences";
import { Icon } from "./icons";
import { MenuButton } from "./MenuButton";
import { ModelPicker } from "./ModelPicker";
import { ThemeToggle } from "./ThemeToggle";

interface ChatHeaderProps {
  title: string;
  models: ModelInfo[] | null;
  model: string | null;
  settingsOpen: boolean;
  theme: ThemeChoice;
  drawerOpen: boolean;
  onMenu: () => void;
  onModel: (model: string) => void;
  onToggleSettings: () => void;
  onToggleTheme: () => void;
}

export function ChatHeader(props: ChatHeaderProps) {
  return (
    <header class="chat-header">
      <MenuButton drawerOpen={props.drawerOpen} onMenu={props.onMenu} />
      <h1 class="chat-title" data-testid="chat-title">
        {props.title}
      </h1>
      <div class="chat-tools">
        <ModelPicker models={props.models} value={props.model} onChange={props.onModel} />
        <button
          type="button"
          class="icon-button"
          data-testid="settings-toggle"
          aria-label="Chat settings"
          aria-expanded={props.settingsOpen}
          title="Chat settings"
          onClick={props.onToggleSettings}
        >
          <Icon name="settings" />
        </button>
        <ThemeToggle theme={props.theme} onToggle={props.onToggleTheme} />
      </div>
    </header>
  );
}
