import type { Notice } from "../hooks/use-chat";

/** An error inside the chat, in words, with Retry when trying again can help. */
export function ChatNotice({ notice, onDismiss }: { notice: Notice; onDismiss: () => void }) {
  return (
    <div class="chat-notice" role="alert" data-testid="chat-error">
      <p class="chat-notice-text">{notice.text}</p>
      <div class="chat-notice-actions">
        {notice.retry && (
          <button type="button" class="button button-small" data-testid="retry" onClick={notice.retry}>
            Retry
          </button>
        )}
        <button type="button" class="button button-small button-ghost" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
    </div>
  );
}
