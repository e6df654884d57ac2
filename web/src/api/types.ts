/** The wire shapes of docs/web-app.md (snake_case, as the server sends them). */

export interface Me {
  username: string | null;
  user_id: string | null;
  role: "admin" | "user";
  scopes: string[];
  via: "session" | "api_key" | "static_key" | "local_token";
}

export interface ModelInfo {
  name: string;
  parameter_size: string;
  quantization: string;
  family: string;
  modified_at: string;
}

export interface ChatOptions {
  temperature?: number;
  num_ctx?: number;
  num_predict?: number;
}

export interface Conversation {
  id: string;
  title: string;
  model: string | null;
  pinned: boolean;
  system: string | null;
  options: ChatOptions;
  created_at: string;
  updated_at: string;
}

export interface ConversationPage {
  conversations: Conversation[];
  next_cursor: string | null;
}

type MessageRole = "user" | "assistant" | "system" | "tool";
type MessageStatus = "done" | "streaming" | "stopped" | "error";

interface ToolCall {
  name: string;
  arguments: unknown;
}

export interface MessageStats {
  prompt_tokens: number;
  completion_tokens: number;
  ttft_ms: number;
  tokens_per_second: number;
  total_ms: number;
}

export interface Message {
  id: string;
  parent_id: string | null;
  role: MessageRole;
  content: string;
  /** A thinking model's reasoning, apart from `content`; null when there is none. */
  thinking: string | null;
  model: string | null;
  status: MessageStatus;
  error: { code: string; message: string } | null;
  tool_calls: ToolCall[] | null;
  stats: MessageStats | null;
  created_at: string;
}

/** One line of an answer's NDJSON stream. */
export type StreamEvent =
  | { type: "start"; user_message?: Message; message: Message; conversation?: Conversation }
  | { type: "delta"; content: string }
  | { type: "thinking"; content: string }
  | { type: "tool_calls"; tool_calls: ToolCall[] }
  | { type: "done"; message: Message };
