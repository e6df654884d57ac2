import type { ComponentChildren } from "preact";
import { useCallback, useRef } from "preact/hooks";
import type { Message } from "../api/types";
import type { Chat } from "../hooks/use-chat";
import { useAutoscroll } from "../hooks/use-autoscroll";
import { versionsOf } from "../message-tree";
import { ChatNotice } from "./ChatNotice";
import { ChatBusy, MessageView } from "./MessageView";

interface MessageListProps {
  chat: Chat;
  empty: ComponentChildren;
}

/** The shown path of the conversation, scrolled along with the answer unless the user scrolls up. */
export function MessageList({ chat, empty }: MessageListProps) {
  const streamingText = chat.shown.find((m) => m.id === chat.streamingId)?.content ?? "";
  const scroll = useAutoscroll<HTMLDivElement>([chat.shown, streamingText, chat.pendingUser, chat.notice]);
  const streamingMessage: Message | undefined = chat.shown.find((m) => m.id === chat.streamingId);
  const nothing = chat.shown.length === 0 && chat.pendingUser === null && !chat.loading;
  // Handlers that never change, calling the latest chat: each streamed frame then re-renders the
  // answer being written, not every message of the chat (MessageView is memoized).
  const latest = useRef(chat);
  latest.current = chat;
  const onShowVersion = useCallback((m: Message) => latest.current.showVersion(m), []);
  const onRegenerate = useCallback((m: Message) => void latest.current.regenerate(m), []);
  const onEdit = useCallback(
    (m: Message, content: string) => void latest.current.send(content, m.parent_id),
    [],
  );

  return (
    <div class="message-scroll" ref={scroll.ref}>
      <div class="message-list" data-testid="message-list" aria-busy={chat.loading}>
        <ChatBusy.Provider value={chat.busy}>
          {nothing && empty}
          {chat.shown.map((message) => (
            <MessageView
              key={message.id}
              message={message}
              versions={versionsOf(chat.messages, message)}
              streaming={message.id === chat.streamingId}
              onShowVersion={onShowVersion}
              onRegenerate={onRegenerate}
              onEdit={onEdit}
            />
          ))}
          {chat.pendingUser !== null && (
            <article
              class="message message-user"
              data-testid="message"
              data-role="user"
              data-status="pending"
            >
              <div class="message-body">
                <div class="user-text">{chat.pendingUser}</div>
              </div>
            </article>
          )}
          {chat.notice && <ChatNotice notice={chat.notice} onDismiss={chat.dismissNotice} />}
        </ChatBusy.Provider>
      </div>
      {/* Screen readers hear the answer as it streams, as plain text (the markdown above is re-rendered per frame). */}
      <div class="visually-hidden" aria-live="polite" data-testid="live-answer">
        {streamingMessage?.content ?? ""}
      </div>
      {!scroll.pinned && (
        <button type="button" class="jump-bottom" data-testid="jump-bottom" onClick={scroll.jumpToBottom}>
          ↓ Latest
        </button>
      )}
    </div>
  );
}
