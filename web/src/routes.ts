import { useEffect, useState } from "preact/hooks";

/**
 * The app's client-side routes (the server answers index.html on the same paths:
 * src/server/routes/web/static.ts): `/login`, `/` (a new chat), `/c/<conversation id>`.
 */
export type Route = { page: "login" } | { page: "chat"; conversationId: string | null };

function parseRoute(path: string): Route {
  if (path === "/login") return { page: "login" };
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
