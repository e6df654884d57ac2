import type { Message } from "../api/types";
import { Markdown } from "./Markdown";
import { ThinkingBlock } from "./ThinkingBlock";

/** The whole content as pretty JSON when it is a JSON document (a `format: json` answer). */
function asJson(content: string): string | undefined {
  const text = content.trim();
  if (!(text.startsWith("{") || text.startsWith("["))) return undefined;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}

const pretty = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value, null, 2));

/**
 * What a message says: user text as text, answers as markdown; a thinking model's reasoning, tool
 * calls and JSON as <details>.
 */
export function MessageBody({ message, streaming }: { message: Message; streaming: boolean }) {
  if (message.role === "user") return <div class="user-text">{message.content}</div>;
  const json = streaming ? undefined : asJson(message.content);
  const answered = message.content !== "" || (message.tool_calls?.length ?? 0) > 0;
  return (
    <>
      {message.thinking && (
        <ThinkingBlock text={message.thinking} answered={answered} streaming={streaming} />
      )}
      {json !== undefined ? (
        <details class="fold" open data-testid="json-output">
          <summary>JSON output</summary>
          <pre class="fold-body">{json}</pre>
        </details>
      ) : (
        message.content !== "" && <Markdown source={message.content} />
      )}
      {message.tool_calls?.map((call, i) => (
        <details class="fold" key={i} data-testid="tool-call">
          <summary>
            Tool call: <code>{call.name}</code>
          </summary>
          <pre class="fold-body">{pretty(call.arguments)}</pre>
        </details>
      ))}
      {streaming && !answered && !message.thinking && (
        <span class="typing" aria-label="Thinking">
          <span />
          <span />
          <span />
        </span>
      )}
      {message.status === "stopped" && (
        <p class="message-flag" data-testid="message-stopped">
          stopped
        </p>
      )}
      {message.status === "error" && (
        <p class="message-error" role="alert" data-testid="message-error">
          {message.error?.message ?? "The answer failed."}
        </p>
      )}
    </>
  );
}
