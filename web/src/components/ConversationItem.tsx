import { useRef, useState } from "preact/hooks";
import { focusOnMount, selectOnMount } from "../focus-on-mount";
import type { Conversation } from "../api/types";
import { Icon } from "./icons";

interface ConversationItemProps {
  conversation: Conversation;
  active: boolean;
  onOpen: () => void;
  onRename: (title: string) => void;
  onTogglePin: () => void;
  onDelete: () => void;
}

/** One chat in the sidebar: a link, and rename / pin / delete (with an inline confirmation). */
export function ConversationItem(props: ConversationItemProps) {
  const { conversation, active } = props;
  const [mode, setMode] = useState<"view" | "rename" | "confirm">("view");
  const [title, setTitle] = useState(conversation.title);
  const renameDone = useRef(false);
  const label = conversation.title.trim() || "New chat";

  if (mode === "rename") {
    const save = () => {
      // Enter saves and unmounts the input, which may also blur it: save once.
      if (renameDone.current) return;
      renameDone.current = true;
      const next = title.trim();
      if (next && next !== conversation.title) props.onRename(next);
      setMode("view");
    };
    return (
      <li class="conv-item conv-item-editing" data-testid="conversation-item" data-id={conversation.id}>
        <input
          class="conv-rename"
          data-testid="conversation-rename-input"
          aria-label="Chat title"
          value={title}
          maxLength={200}
          ref={selectOnMount}
          onInput={(e) => setTitle(e.currentTarget.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") save();
            if (e.key === "Escape") {
              renameDone.current = true;
              setTitle(conversation.title);
              setMode("view");
            }
          }}
          onBlur={save}
        />
      </li>
    );
  }

  if (mode === "confirm") {
    return (
      <li class="conv-item conv-item-confirm" data-testid="conversation-item" data-id={conversation.id}>
        <span class="conv-confirm-text">Delete “{label}”?</span>
        <span class="conv-confirm-actions">
          <button
            type="button"
            class="button button-danger button-small"
            data-testid="conversation-delete-confirm"
            ref={focusOnMount}
            onClick={props.onDelete}
          >
            Delete
          </button>
          <button
            type="button"
            class="button button-small"
            data-testid="conversation-delete-cancel"
            onClick={() => setMode("view")}
          >
            Cancel
          </button>
        </span>
      </li>
    );
  }

  return (
    <li
      class={`conv-item${active ? " conv-item-active" : ""}`}
      data-testid="conversation-item"
      data-id={conversation.id}
      data-pinned={conversation.pinned ? "true" : "false"}
    >
      <a
        class="conv-link"
        href={`/c/${conversation.id}`}
        aria-current={active ? "page" : undefined}
        onClick={(e) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          e.preventDefault();
          props.onOpen();
        }}
      >
        {conversation.pinned && (
          <span class="conv-pin-mark" aria-label="Pinned">
            <Icon name="pin" />
          </span>
        )}
        <span class="conv-title">{label}</span>
      </a>
      <span class="conv-actions">
        <button
          type="button"
          class="icon-button icon-button-small"
          data-testid="conversation-pin"
          aria-label={conversation.pinned ? `Unpin ${label}` : `Pin ${label}`}
          aria-pressed={conversation.pinned}
          title={conversation.pinned ? "Unpin" : "Pin"}
          onClick={props.onTogglePin}
        >
          <Icon name="pin" />
        </button>
        <button
          type="button"
          class="icon-button icon-button-small"
          data-testid="conversation-rename"
          aria-label={`Rename ${label}`}
          title="Rename"
          onClick={() => {
            renameDone.current = false;
            setTitle(conversation.title);
            setMode("rename");
          }}
        >
          <Icon name="edit" />
        </button>
        <button
          type="button"
          class="icon-button icon-button-small"
          data-testid="conversation-delete"
          aria-label={`Delete ${label}`}
          title="Delete"
          onClick={() => setMode("confirm")}
        >
          <Icon name="trash" />
        </button>
      </span>
    </li>
  );
}
