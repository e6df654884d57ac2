import type { Me } from "../api/types";
import { useLazy } from "../hooks/use-lazy";
import type { ThemeChoice } from "../preferences";
import type { AdminSection } from "../routes";

export interface AdminOutletProps {
  me: Me;
  /** An admin page, or null for the settings page. */
  section: AdminSection | null;
  /** Whether the admin pages may show (role admin, no 403 since). */
  isAdmin: boolean;
  theme: ThemeChoice;
  drawerOpen: boolean;
  onToggleTheme: () => void;
  onMenu: () => void;
}

/** The settings and admin pages, fetched on first visit (their own chunk, see AdminMain). */
export function AdminOutlet(props: AdminOutletProps) {
  const { module, error } = useLazy(() => import("../admin/AdminMain"));
  if (error !== null) {
    return (
      <div class="notice notice-error admin-load-error" role="alert" data-testid="admin-error">
        This page could not be loaded. Reload the page to try again.
      </div>
    );
  }
  if (!module) {
    return (
      <div class="splash" aria-busy="true">
        Loading…
      </div>
    );
  }
  return <module.AdminMain {...props} />;
}
