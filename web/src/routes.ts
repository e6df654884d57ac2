import { useEffect, useState } from "preact/hooks";

/** The admin console's pages (docs/admin-console.md), each at `/admin/<section>`. */
export const ADMIN_SECTIONS = ["users", "keys", "models", "status", "dashboards", "logs", "audit"] as const;
export type AdminSection = (typeof ADMIN_SECTIONS)[number];

export const SECTION_TITLES: Record<AdminSection, string> = {
  users: "Users",
  keys: "API keys",
  models: "Models",
  status: "Status",
  dashboards: "Dashboards",
  logs: "Logs",
  audit: "Audit log",
};

/**
 * The app's client-side routes (the server answers index.html on the same paths:
 * src/server/routes/web/static.ts): `/login`, `/` (a new chat), `/c/<conversation id>`,
 * `/settings` (own API keys) and `/admin/<section>`.
 */
export type Route =
  | { page: "login" }
  | { page: "chat"; conversationId: string | null }
  | { page: "settings" }
  | { page: "admin"; section: AdminSection };

function parseRoute(path: string): Route {
  if (path === "/login") return { page: "login" };
  if (path === "/settings") return { page: "settings" };
  const admin = /^\/admin\/([a-z]+)$/.exec(path)?.[1];
  const section = ADMIN_SECTIONS.find((s) => s === admin);
  if (section !== undefined) return { page: "admin", section };
  const match = /^\/c\/([A-Za-z0-9-]{1,64})$/.exec(path);
  return { page: "chat", conversationId: match?.[1] ?? null };
}

export const chatPath = (conversationId: string | null) =>
  conversationId === null ? "/" : `/c/${conversationId}`;

const listeners = new Set<() => void>();

/** Goes to `path`; `replace` rewrites the current history entry (a new chat getting its id). */
export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

/** The current route, updated by navigate() and the browser's back/forward. */
export function useRoute(): Route {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    addEventListener("popstate", update);
    return () => {
      listeners.delete(update);
      removeEventListener("popstate", update);
    };
  }, []);
  return parseRoute(path);
}
