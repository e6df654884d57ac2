import { Icon } from "./icons";

/** The header's button that opens the chat list as a drawer on narrow screens. */
export function MenuButton({ drawerOpen, onMenu }: { drawerOpen: boolean; onMenu: () => void }) {
  return (
    <button
      type="button"
      class="icon-button menu-button"
      data-testid="menu-button"
      aria-label="Open menu"
      aria-controls="sidebar"
      aria-expanded={drawerOpen}
      onClick={onMenu}
    >
      <Icon name="menu" />
    </button>
  );
}
