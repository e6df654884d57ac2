import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../api/chat-api";
import type { Conversation, Me } from "../api/types";
import { useConversationList } from "../hooks/use-conversation-list";
import type { AdminSection } from "../routes";
import { AdminNav } from "./AdminNav";
import { ConversationItem } from "./ConversationItem";
import { Icon } from "./icons";

interface SidebarProps {
  me: Me;
  activeId: string | null;
  refreshKey: number;
  open: boolean;
  onNavigate: (conversationId: string | null) => void;
  onDeleted: (conversationId: string) => void;
  /** A chat was renamed or (un)pinned here: the open chat's header may show it. */
  onUpdated: (conversationId: string) => void;
  onClose: () => void;
  onLogout: () => void;
  /** Shows the admin navigation (role admin, and no admin route has answered 403 since). */
  isAdmin: boolean;
  /** The admin page shown, if any; `settings`: the settings page. */
  page: AdminSection | "settings" | null;
  /** Goes to an app path (an admin page, the settings page). */
  onGo: (path: string) => void;
}

/** How long typing pauses before the search runs, ms. */
const SEARCH_DELAY_MS = 250;

export function Sidebar(props: SidebarProps) {
  const [query, setQuery] = useState("");
  const [q, setQ] = useState("");
  const [localRefresh, setLocalRefresh] = useState(0);
  const list = useConversationList(q, props.refreshKey + localRefresh);
  const sentinel = useRef<HTMLLIElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);

  // The drawer (narrow screens) takes the keyboard focus when it opens.
  useEffect(() => {
    if (props.open) closeButton.current?.focus();
  }, [props.open]);

  useEffect(() => {
    const timer = setTimeout(() => setQ(query.trim()), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [query]);

  // Infinite scroll: the next page loads when the end of the list comes into view.
  useEffect(() => {
    const target = sentinel.current;
    if (!target || !list.hasMore) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) list.loadMore();
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [list.hasMore, list.loading, list.items.length]);

  const patch = async (conversation: Conversation, change: { title?: string; pinned?: boolean }) => {
    try {
      const updated = await api.updateConversation(conversation.id, change);
      props.onUpdated(updated.id);
      if (change.pinned !== undefined) setLocalRefresh((n) => n + 1);
      else list.setItems((items) => items.map((c) => (c.id === updated.id ? updated : c)));
    } catch {
      setLocalRefresh((n) => n + 1);
    }
  };

  const remove = async (conversation: Conversation) => {
    try {
      await api.deleteConversation(conversation.id);
    } finally {
      list.setItems((items) => items.filter((c) => c.id !== conversation.id));
      props.onDeleted(conversation.id);
    }
  };

  return (
    <aside
      id="sidebar"
      class={`sidebar${props.open ? " sidebar-open" : ""}`}
      aria-label="Chats"
      data-testid="sidebar"
    >
      <div class="sidebar-head">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true">
            a
          </span>
          aixcl
        </div>
        <button
          ref={closeButton}
          type="button"
          class="icon-button sidebar-close"
          aria-label="Close menu"
          data-testid="drawer-close"
          onClick={props.onClose}
        >
          <Icon name="close" />
        </button>
      </div>
      <button
        type="button"
        class="button new-chat"
        data-testid="new-chat"
        onClick={() => props.onNavigate(null)}
      >
        <Icon name="plus" /> New chat
      </button>
      <div class="search">
        <input
          type="search"
          class="search-input"
          data-testid="conversation-search"
          aria-label="Search chats"
          placeholder="Search chats"
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
      </div>
      <nav class="conv-nav" aria-label="Conversations">
        <ul class="conv-list" data-testid="conversation-list" aria-busy={list.loading}>
          {list.items.map((conversation) => (
            <ConversationItem
              key={conversation.id}
              conversation={conversation}
              active={conversation.id === props.activeId}
              onOpen={() => props.onNavigate(conversation.id)}
              onRename={(title) => void patch(conversation, { title })}
              onTogglePin={() => void patch(conversation, { pinned: !conversation.pinned })}
              onDelete={() => void remove(conversation)}
            />
          ))}
          {list.hasMore && (
            <li ref={sentinel} class="conv-more" aria-hidden="true">
              Loading…
            </li>
          )}
        </ul>
        {!list.loading && list.items.length === 0 && list.error === null && (
          <p class="conv-empty">{q ? "No chats match your search." : "No chats yet."}</p>
        )}
        {list.error !== null && (
          <p class="conv-empty" role="status">
            {list.error}
          </p>
        )}
      </nav>
      {props.isAdmin && (
        <AdminNav current={props.page === "settings" ? null : props.page} onNavigate={props.onGo} />
      )}
      <div class="sidebar-foot">
        <a
          href="/settings"
          class={`user-link${props.page === "settings" ? " user-link-active" : ""}`}
          data-testid="settings-link"
          title="Settings and API keys"
          aria-current={props.page === "settings" ? "page" : undefined}
          onClick={(e) => {
            e.preventDefault();
            props.onGo("/settings");
          }}
        >
          <Icon name="user" />
          <span class="user-name" data-testid="current-user">
            {props.me.username ?? "local"}
          </span>
          <span class="visually-hidden">: settings and API keys</span>
        </a>
        <button
          type="button"
          class="icon-button"
          data-testid="logout"
          aria-label="Sign out"
          title="Sign out"
          onClick={props.onLogout}
        >
          <Icon name="logout" />
        </button>
      </div>
    </aside>
  );
}
