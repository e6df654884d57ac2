import { Component, createContext } from "preact";
import type { ComponentChildren } from "preact";
import { useContext, useState } from "preact/hooks";
import type { Message } from "../api/types";
import { focusOnMount } from "../focus-on-mount";
import { Icon } from "./icons";
import { MessageBody } from "./MessageBody";
import { MessageStats } from "./MessageStats";
import { VersionNav } from "./VersionNav";

interface MessageViewProps {
  message: Message;
  versions: Message[];
  streaming: boolean;
  onShowVersion: (message: Message) => void;
  onRegenerate: (message: Message) => void;
  onEdit: (message: Message, content: string) => void;
}

/**
 * Generation is running somewhere in this chat: no new edits or regenerations meanwhile. A
 * context, not a prop: it flips on every send and every finished answer, and only the buttons
 * below read it, so the messages themselves (their markdown) are not rendered again for it.
 */
export const ChatBusy = createContext(false);

/** A message action, disabled while the chat is busy. */
function ActionButton(props: {
  testId: string;
  label: string;
  title: string;
  onClick: () => void;
  children: ComponentChildren;
}) {
  const busy = useContext(ChatBusy);
  return (
    <button
      type="button"
      class="icon-button icon-button-small"
      data-testid={props.testId}
      aria-label={props.label}
      title={props.title}
      disabled={busy}
      onClick={props.onClick}
    >
      {props.children}
    </button>
  );
}

function EditBox({
  message,
  onSave,
  onCancel,
}: {
  message: Message;
  onSave: (text: string) => void;
  onCancel: () => void;
}) {
  const [text, setText] = useState(message.content);
  return (
    <form
      class="edit-box"
      onSubmit={(e) => {
        e.preventDefault();
        if (text.trim()) onSave(text);
      }}
    >
      <textarea
        class="edit-input"
        data-testid="edit-input"
        aria-label="Edit message"
        value={text}
        rows={Math.min(12, Math.max(2, text.split("\n").length))}
        ref={focusOnMount}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") onCancel();
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            if (text.trim()) onSave(text);
          }
        }}
      />
      <div class="edit-actions">
        <button type="button" class="button button-small" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="button button-primary button-small" data-testid="edit-send">
          Send
        </button>
      </div>
    </form>
  );
}

/** Same props, comparing `versions` by its messages (the list is rebuilt on every render). */
function sameProps(a: MessageViewProps, b: MessageViewProps): boolean {
  return (
    a.message === b.message &&
    a.streaming === b.streaming &&
    a.onShowVersion === b.onShowVersion &&
    a.onRegenerate === b.onRegenerate &&
    a.onEdit === b.onEdit &&
    a.versions.length === b.versions.length &&
    a.versions.every((m, i) => m === b.versions[i])
  );
}

/**
 * One message of the shown path, with its version navigation and actions. Re-rendered only when
 * its props change: a streamed frame changes one message, and re-rendering the others (their
 * markdown, stats and actions) cost every frame more the longer the chat.
 */
export class MessageView extends Component<MessageViewProps> {
  override shouldComponentUpdate(next: MessageViewProps): boolean {
    return !sameProps(this.props, next);
  }

  override render() {
    return <MessageContent {...this.props} />;
  }
}

function MessageContent(props: MessageViewProps) {
  const { message, versions, streaming } = props;
  const [editing, setEditing] = useState(false);
  const index = versions.findIndex((m) => m.id === message.id);
  const isUser = message.role === "user";
  const status = streaming ? "streaming" : message.status;

  return (
    <article
      class={`message message-${message.role}`}
      data-testid="message"
      data-role={message.role}
      data-status={status}
      data-id={message.id}
      aria-label={isUser ? "You said" : `${message.model ?? "Assistant"} answered`}
      tabIndex={-1}
    >
      {!isUser && (
        <div class="message-meta">
          <span class="message-author">{message.model ?? "assistant"}</span>
        </div>
      )}
      <div class="message-body">
        {editing ? (
          <EditBox
            message={message}
            onCancel={() => setEditing(false)}
            onSave={(text) => {
              setEditing(false);
              props.onEdit(message, text);
            }}
          />
        ) : (
          <MessageBody message={message} streaming={streaming} />
        )}
      </div>
      {!editing && (
        <div class="message-actions">
          {versions.length > 1 && index >= 0 && (
            <VersionNav
              index={index}
              count={versions.length}
              onShow={(i) => {
                const target = versions[i];
                if (target) props.onShowVersion(target);
              }}
            />
          )}
          {isUser && (
            <ActionButton
              testId="edit-message"
              label="Edit message"
              title="Edit"
              onClick={() => setEditing(true)}
            >
              <Icon name="edit" />
            </ActionButton>
          )}
          {message.role === "assistant" && !streaming && (
            <ActionButton
              testId="regenerate"
              label="Regenerate answer"
              title="Regenerate"
              onClick={() => props.onRegenerate(message)}
            >
              <Icon name="refresh" />
            </ActionButton>
          )}
          {message.stats && !streaming && <MessageStats stats={message.stats} />}
        </div>
      )}
    </article>
  );
}
