/** The `/api/aixcl/*` and `/api/auth/*` routes the app calls (docs/web-app.md). */
import { request, requestJson } from "./client";
import type { ChatOptions, Conversation, ConversationPage, Me, Message, ModelInfo } from "./types";

const BASE = "/api/aixcl";
const id = (value: string) => encodeURIComponent(value);

/** Who this browser is logged in as (null: nobody); never a 401, which the browser would log. */
export const getMe = async () => (await requestJson<{ user: Me | null }>("GET", "/api/auth/session")).user;
export const login = (username: string, password: string) =>
  requestJson<unknown>("POST", "/api/auth/login", { username, password });
export const logout = () => request("POST", "/api/auth/logout");

export const listModels = async () =>
  (await requestJson<{ models: ModelInfo[] }>("GET", `${BASE}/models`)).models;

export function listConversations(query: { cursor?: string | null; q?: string; limit?: number }) {
  const params = new URLSearchParams({ limit: String(query.limit ?? 50) });
  if (query.cursor) params.set("cursor", query.cursor);
  if (query.q) params.set("q", query.q);
  return requestJson<ConversationPage>("GET", `${BASE}/conversations?${params.toString()}`);
}

export interface ConversationInput {
  model?: string | null;
  title?: string;
  pinned?: boolean;
  system?: string | null;
  options?: ChatOptions;
}

export const createConversation = (input: ConversationInput) =>
  requestJson<Conversation>("POST", `${BASE}/conversations`, input);
export const getConversation = (conversationId: string) =>
  requestJson<{ conversation: Conversation; messages: Message[] }>(
    "GET",
    `${BASE}/conversations/${id(conversationId)}`,
  );
export const updateConversation = (conversationId: string, patch: ConversationInput) =>
  requestJson<Conversation>("PATCH", `${BASE}/conversations/${id(conversationId)}`, patch);
export const deleteConversation = (conversationId: string) =>
  request("DELETE", `${BASE}/conversations/${id(conversationId)}`);

/** The answer streams: each resolves with the open NDJSON Response (see readStream). */
export const postMessage = (
  conversationId: string,
  body: { content: string; parent_id: string | null; model?: string },
  signal: AbortSignal,
) => request("POST", `${BASE}/conversations/${id(conversationId)}/messages`, body, signal);
export const regenerate = (messageId: string, signal: AbortSignal) =>
  request("POST", `${BASE}/messages/${id(messageId)}/regenerate`, undefined, signal);
export const reattach = (messageId: string, signal: AbortSignal) =>
  request("GET", `${BASE}/messages/${id(messageId)}/stream`, undefined, signal);
export const stopMessage = (messageId: string) =>
  requestJson<Message>("POST", `${BASE}/messages/${id(messageId)}/stop`);
