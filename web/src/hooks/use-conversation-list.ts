import { useEffect, useRef, useState } from "preact/hooks";
import * as api from "../api/chat-api";
import { describeError } from "../api/errors";
import type { Conversation } from "../api/types";

/**
 * The sidebar's pages of conversations for a search `q` (the server orders them: pinned first,
 * then most recently active). `refreshKey` changing reloads the first page.
 */
export function useConversationList(q: string, refreshKey: number) {
  const [items, setItems] = useState<Conversation[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // Answers of an older search (or refresh) that arrive late must not overwrite a newer one.
  const generation = useRef(0);

  useEffect(() => {
    const mine = ++generation.current;
    setLoading(true);
    api.listConversations({ q }).then(
      (page) => {
        if (mine !== generation.current) return;
        setItems(page.conversations);
        setCursor(page.next_cursor);
        setError(null);
        setLoading(false);
      },
      (caught: unknown) => {
        if (mine !== generation.current) return;
        setError(`Chats could not be loaded: ${describeError(caught)}`);
        setLoading(false);
      },
    );
  }, [q, refreshKey]);

  const loadMore = () => {
    if (loading || cursor === null) return;
    const mine = generation.current;
    setLoading(true);
    api.listConversations({ q, cursor }).then(
      (page) => {
        if (mine !== generation.current) return;
        setItems((current) => {
          const known = new Set(current.map((c) => c.id));
          return [...current, ...page.conversations.filter((c) => !known.has(c.id))];
        });
        setCursor(page.next_cursor);
        setLoading(false);
      },
      (caught: unknown) => {
        if (mine !== generation.current) return;
        setError(describeError(caught));
        setLoading(false);
      },
    );
  };

  return { items, setItems, hasMore: cursor !== null, loading, error, loadMore };
}
