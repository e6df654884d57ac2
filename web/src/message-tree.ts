import type { Message } from "./api/types";

/**
 * The conversation is a tree (docs/web-app.md, Messages): a message's versions are its siblings
 * of the same role under the same parent. The app shows one path from the root: at each level
 * the version the user chose, else the most recently created one.
 */
export type Selection = ReadonlyMap<string, string>;

/** Key of a parent in the selection map (the root has no id). */
export const parentKey = (parentId: string | null) => parentId ?? "";

function childrenByParent(messages: readonly Message[]): Map<string, Message[]> {
  const children = new Map<string, Message[]>();
  for (const message of messages) {
    const key = parentKey(message.parent_id);
    const list = children.get(key);
    if (list) list.push(message);
    else children.set(key, [message]);
  }
  return children;
}

/** The versions of `message`: siblings of the same role, in creation order (the list's order). */
export function versionsOf(messages: readonly Message[], message: Message): Message[] {
  return messages.filter((m) => m.parent_id === message.parent_id && m.role === message.role);
}

/** The path shown: from the root, the chosen (else latest) child at each level. */
export function visiblePath(messages: readonly Message[], selection: Selection): Message[] {
  const children = childrenByParent(messages);
  const path: Message[] = [];
  const seen = new Set<string>();
  let key = "";
  for (;;) {
    const candidates = children.get(key);
    if (!candidates || candidates.length === 0) break;
    const chosenId = selection.get(key);
    const chosen = candidates.find((m) => m.id === chosenId) ?? candidates[candidates.length - 1]!;
    // A malformed tree (a cycle) must not hang the page.
    if (seen.has(chosen.id)) break;
    seen.add(chosen.id);
    path.push(chosen);
    key = chosen.id;
  }
  return path;
}

/**
 * Selects `message` among its versions. Choices below it are dropped: below a chosen version the
 * latest child shows at each level.
 */
export function select(messages: readonly Message[], selection: Selection, message: Message): Selection {
  const next = new Map<string, string>();
  for (const shown of visiblePath(messages, selection)) {
    if (shown.parent_id === message.parent_id) break;
    const key = parentKey(shown.parent_id);
    const chosen = selection.get(key);
    if (chosen !== undefined) next.set(key, chosen);
  }
  next.set(parentKey(message.parent_id), message.id);
  return next;
}
