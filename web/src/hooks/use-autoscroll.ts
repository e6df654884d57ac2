import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";

/** How close to the bottom (px) still counts as "at the bottom". */
const STICKY_PX = 48;

/**
 * Keeps a scroll container pinned to the bottom while content grows, until the user scrolls up;
 * scrolling back down (or jumpToBottom) re-pins it.
 */
export function useAutoscroll<T extends HTMLElement>(content: unknown) {
  const ref = useRef<T>(null);
  const [pinned, setPinned] = useState(true);
  const pinnedRef = useRef(true);

  useEffect(() => {
    const element = ref.current;
    if (!element) return;
    const onScroll = () => {
      const atBottom = element.scrollHeight - element.scrollTop - element.clientHeight < STICKY_PX;
      pinnedRef.current = atBottom;
      setPinned(atBottom);
    };
    element.addEventListener("scroll", onScroll, { passive: true });
    return () => element.removeEventListener("scroll", onScroll);
  }, []);

  // Before the browser paints: a scroll after the paint (useEffect) costs a second frame each time
  // the chat grows, at the moment a sent question's prompt is being read on the same cores.
  useLayoutEffect(() => {
    const element = ref.current;
    if (element && pinnedRef.current) element.scrollTop = element.scrollHeight;
  }, [content]);

  const jumpToBottom = () => {
    const element = ref.current;
    if (!element) return;
    pinnedRef.current = true;
    setPinned(true);
    element.scrollTop = element.scrollHeight;
  };

  return { ref, pinned, jumpToBottom };
}
