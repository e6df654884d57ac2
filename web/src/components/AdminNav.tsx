import { ADMIN_SECTIONS, SECTION_TITLES, type AdminSection } from "../routes";

interface AdminNavProps {
  /** The admin page shown, if any. */
  current: AdminSection | null;
  onNavigate: (path: string) => void;
}

/** The admin console's pages, in the sidebar (the drawer on narrow screens); admins only. */
export function AdminNav({ current, onNavigate }: AdminNavProps) {
  return (
    <nav class="admin-nav" aria-label="Administration" data-testid="admin-nav">
      <h2 class="admin-nav-title">Admin</h2>
      <ul class="admin-nav-list">
        {ADMIN_SECTIONS.map((section) => (
          <li key={section}>
            <a
              href={`/admin/${section}`}
              class={`admin-nav-link${current === section ? " admin-nav-link-active" : ""}`}
              data-testid="admin-nav-link"
              data-section={section}
              aria-current={current === section ? "page" : undefined}
              onClick={(e) => {
                e.preventDefault();
                onNavigate(`/admin/${section}`);
              }}
            >
              {SECTION_TITLES[section]}
            </a>
          </li>
        ))}
      </ul>
    </nav>
  );
}
