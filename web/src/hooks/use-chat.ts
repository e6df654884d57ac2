import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../api/chat-api";
import { ApiError, describeError } from "../api/errors";
import { readStream } from "../api/stream";
import type { ChatOptions, Conversation, Message, StreamEvent } from "../api/types";
import { parentKey, select, visiblePath, type Selection } from "../message-tree";
import { useDeltas } from "./use-deltas";

/** An error shown inside the chat, with what to do about it. */
export interface Notice {
  text: string;
  retry?: () => void;
}

/** The per-chat settings (docs/web-app.md, Conversation), before or after the chat exists. */
export interface ChatSettings {
  model: string | null;
  system: string | null;
  options: ChatOptions;
}

export interface ChatEvents {
  /** A new chat was created on the server (the URL becomes /c/<id>). */
  onCreated(conversationId: string): void;
  /** Something the conversation list shows changed (a title, the order). */
  onChanged(): void;
}

type Opener = (signal: AbortSignal) => Promise<Response>;

/**
 * The state of one chat: its messages (the whole tree), the path shown, the answer streaming,
 * and the actions. The server owns generation: leaving a chat only detaches from its stream, and
 * opening a chat whose answer is still streaming re-attaches to it.
 */
export function useChat(routeId: string | null, initialModel: string | null, events: ChatEvents) {
  const [conversation, setConversation] = useState<Conversation | null>(null);
  const [draft, setDraft] = useState<ChatSettings>({ model: initialModel, system: null, options: {} });
  const [messages, setMessages] = useState<Message[]>([]);
  const [selection, setSelection] = useState<Selection>(new Map());
  const [loading, setLoading] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [busy, setBusy] = useState(false);
  const [streamingId, setStreamingId] = useState<string | null>(null);
  const [pendingUser, setPendingUser] = useState<string | null>(null);
  const currentId = useRef<string | null>(null);
  const controller = useRef<AbortController | null>(null);
  const messagesRef = useRef<Message[]>([]);
  messagesRef.current = messages;
  const selectionRef = useRef<Selection>(selection);
  selectionRef.current = selection;
  const deltas = useDeltas(setMessages);

  const upsert = (message: Message) => {
    deltas.drop(message.id);
    setMessages((list) =>
      list.some((m) => m.id === message.id)
        ? list.map((m) => (m.id === message.id ? message : m))
        : [...list, message],
    );
  };
  const choose = (message: Message) =>
    setSelection((current) => {
      const next = new Map(select(messagesRef.current, current, message));
      next.set(parentKey(message.parent_id), message.id);
      return next;
    });

  useEffect(() => {
    // Our own new chat just got its id in the URL: the state already is that chat.
    if (routeId !== null && routeId === currentId.current) return;
    controller.current?.abort();
    controller.current = null;
    currentId.current = routeId;
    setConversation(null);
    setMessages([]);
    setSelection(new Map());
    setNotice(null);
    setBusy(false);
    setStreamingId(null);
    setPendingUser(null);
    if (routeId === null) return;
    setLoading(true);
    api.getConversation(routeId).then(
      (loaded) => {
        if (currentId.current !== routeId) return;
        setConversation(loaded.conversation);
        setMessages(loaded.messages);
        setLoading(false);
        const live = loaded.messages.find((m) => m.role === "assistant" && m.status === "streaming");
        if (live) void follow((signal) => api.reattach(live.id, signal), live.id);
      },
      (error: unknown) => {
        if (currentId.current !== routeId) return;
        setLoading(false);
        const missing = error instanceof ApiError && error.status === 404;
        setNotice({ text: missing ? "This chat does not exist, or it was deleted." : describeError(error) });
      },
    );
    // follow() is stable in effect: it only reads refs and setters.
  }, [routeId]);

  /** Fetches the chat's own row again (title, pin, settings), leaving the messages as they are. */
  function reloadConversation(): void {
    const owner = currentId.current;
    if (owner === null) return;
    api.getConversation(owner).then(
      (loaded) => currentId.current === owner && setConversation(loaded.conversation),
      () => undefined,
    );
  }

  /** Opens an answer stream and applies its events until it ends, breaks or is detached. */
  async function follow(open: Opener, reattachId?: string, retry?: () => void): Promise<void> {
    const ctrl = new AbortController();
    controller.current = ctrl;
    const owner = currentId.current;
    let answerId = reattachId ?? null;
    let firstDelta = reattachId !== undefined;
    let firstThinking = firstDelta;
    let finished = false;
    setBusy(true);
    setNotice(null);
    if (answerId) setStreamingId(answerId);
    const apply = (event: StreamEvent) => {
      if (ctrl.signal.aborted || currentId.current !== owner) return;
      switch (event.type) {
        case "start":
          setPendingUser(null);
          // The chat as this turn left it: its first message titles it, a message's model becomes its model.
          if (event.conversation) setConversation(event.conversation);
          if (event.user_message) {
            upsert(event.user_message);
            messagesRef.current = [...messagesRef.current, event.user_message];
            choose(event.user_message);
          }
          upsert(event.message);
          messagesRef.current = [...messagesRef.current, event.message];
          choose(event.message);
          answerId = event.message.id;
          setStreamingId(answerId);
          break;
        case "delta":
          if (answerId) deltas.push(answerId, event.content, firstDelta);
          firstDelta = false;
          break;
        case "thinking":
          if (answerId) deltas.push(answerId, event.content, firstThinking, "thinking");
          firstThinking = false;
          break;
        case "tool_calls": {
          const id = answerId;
          if (id)
            setMessages((list) =>
              list.map((m) => (m.id === id ? { ...m, tool_calls: event.tool_calls } : m)),
            );
          break;
        }
        case "done":
          upsert(event.message);
          break;
      }
    };
    let failure: unknown;
    try {
      const response = await open(ctrl.signal);
      await readStream(response, (event) => {
        if (event.type === "done") finished = true;
        apply(event);
      });
    } catch (error) {
      failure = error;
    }
    try {
      if (!finished && !ctrl.signal.aborted && currentId.current === owner) {
        const started = answerId;
        if (started !== null) {
          // The answer exists on the server and is still being written there: re-attach to it,
          // never send again (that would ask the question twice).
          const text =
            failure instanceof ApiError
              ? describeError(failure)
              : "The connection to the server was lost while the answer was being written.";
          const reattachRetry = () => void follow((signal) => api.reattach(started, signal), started);
          setNotice({ text, retry: reattachRetry });
        } else {
          // Nothing was stored: the unsent text stays on screen beside the error, Retry sends it.
          setNotice({ text: describeError(failure), ...(retry ? { retry } : {}) });
        }
      }
    } finally {
      if (controller.current === ctrl) {
        controller.current = null;
        setBusy(false);
        setStreamingId(null);
      }
      if (currentId.current === owner && owner !== null) events.onChanged();
    }
  }

  /** Sends `content` under `parentId` (default: the last message shown; an edit: the edited one's parent). */
  async function send(content: string, parentId?: string | null): Promise<void> {
    if (controller.current) return;
    const retry = () => void send(content, parentId);
    setNotice(null);
    setPendingUser(content);
    let id = currentId.current;
    if (id === null) {
      try {
        const created = await api.createConversation({
          model: draft.model,
          system: draft.system,
          options: draft.options,
        });
        id = created.id;
        currentId.current = id;
        setConversation(created);
        events.onCreated(id);
      } catch (error) {
        setNotice({ text: describeError(error), retry });
        return;
      }
    }
    const shown = visiblePath(messagesRef.current, selectionRef.current);
    const parent = parentId !== undefined ? parentId : (shown[shown.length - 1]?.id ?? null);
    const conversationId = id;
    const model = conversation?.model ?? draft.model;
    await follow(
      (signal) =>
        api.postMessage(conversationId, { content, parent_id: parent, ...(model ? { model } : {}) }, signal),
      undefined,
      retry,
    );
  }

  async function regenerate(answer: Message): Promise<void> {
    if (controller.current) return;
    const retry = () => void regenerate(answer);
    await follow((signal) => api.regenerate(answer.id, signal), undefined, retry);
  }

  /** Stops the answer on the server (its partial text is kept), then detaches. */
  async function stop(): Promise<void> {
    const id = streamingId;
    const ctrl = controller.current;
    if (id) {
      try {
        upsert(await api.stopMessage(id));
      } catch {
        // Already finished, or the server is gone: detaching is all that is left to do.
      }
    }
    ctrl?.abort();
    if (controller.current === ctrl) {
      controller.current = null;
      setBusy(false);
      setStreamingId(null);
      setPendingUser(null);
    }
  }

  const settings: ChatSettings = conversation
    ? { model: conversation.model, system: conversation.system, options: conversation.options }
    : draft;

  /** Saves settings: PATCH on an existing chat, kept for creation on a new one. */
  async function updateSettings(patch: Partial<ChatSettings>): Promise<void> {
    if (!conversation) {
      setDraft((current) => ({ ...current, ...patch }));
      return;
    }
    try {
      setConversation(await api.updateConversation(conversation.id, patch));
      events.onChanged();
    } catch (error) {
      setNotice({ text: describeError(error) });
    }
  }

  return {
    conversation,
    settings,
    messages,
    shown: visiblePath(messages, selection),
    loading,
    notice,
    busy,
    streamingId,
    pendingUser,
    send,
    regenerate,
    stop,
    updateSettings,
    reloadConversation,
    dismissNotice: () => {
      setNotice(null);
      setPendingUser(null);
    },
    showVersion: (message: Message) => setSelection((current) => select(messages, current, message)),
  };
}

export type Chat = ReturnType<typeof useChat>;
