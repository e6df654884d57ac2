import type { ThemeChoice } from "../preferences";
import { Icon } from "./icons";

export function ThemeToggle({ theme, onToggle }: { theme: ThemeChoice; onToggle: () => void }) {
  const next = theme === "dark" ? "light" : "dark";
  return (
    <button
      type="button"
      class="icon-button"
      data-testid="theme-toggle"
      aria-label={`Switch to ${next} theme`}
      title={`Switch to ${next} theme`}
      onClick={onToggle}
    >
      <Icon name={theme === "dark" ? "sun" : "moon"} />
    </button>
  );
}
