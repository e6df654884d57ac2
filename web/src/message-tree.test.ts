import { describe, expect, it } from "vitest";
import type { Message } from "./api/types";
import { select, versionsOf, visiblePath } from "./message-tree";

let clock = 0;
const m = (id: string, parent: string | null, role: Message["role"]): Message => ({
  id,
  parent_id: parent,
  role,
  content: id,
  thinking: null,
  model: null,
  status: "done",
  error: null,
  tool_calls: null,
  stats: null,
  created_at: new Date(++clock * 1000).toISOString(),
});

// u1 ─ a1 ─ u2 ─ a2
//    └ a1b ─ u3 ─ a3, a3b
// u1b (an edit of u1) ─ a4
const tree = [
  m("u1", null, "user"),
  m("a1", "u1", "assistant"),
  m("u2", "a1", "user"),
  m("a2", "u2", "assistant"),
  m("a1b", "u1", "assistant"),
  m("u3", "a1b", "user"),
  m("a3", "u3", "assistant"),
  m("a3b", "u3", "assistant"),
  m("u1b", null, "user"),
  m("a4", "u1b", "assistant"),
];
const ids = (messages: Message[]) => messages.map((message) => message.id);
const byId = (id: string) => tree.find((message) => message.id === id)!;

describe("the message tree", () => {
  it("shows the most recently created child at each level by default", () => {
    expect(ids(visiblePath(tree, new Map()))).toEqual(["u1b", "a4"]);
  });

  it("lists a message's versions: same parent, same role, in creation order", () => {
    expect(ids(versionsOf(tree, byId("a1")))).toEqual(["a1", "a1b"]);
    expect(ids(versionsOf(tree, byId("u1b")))).toEqual(["u1", "u1b"]);
    expect(ids(versionsOf(tree, byId("a2")))).toEqual(["a2"]);
  });

  it("below a chosen version shows the latest child at each level, dropping deeper choices", () => {
    let selection = select(tree, new Map(), byId("u1"));
    expect(ids(visiblePath(tree, selection))).toEqual(["u1", "a1b", "u3", "a3b"]);
    selection = select(tree, selection, byId("a3"));
    expect(ids(visiblePath(tree, selection))).toEqual(["u1", "a1b", "u3", "a3"]);
    selection = select(tree, selection, byId("a1"));
    expect(ids(visiblePath(tree, selection))).toEqual(["u1", "a1", "u2", "a2"]);
    // Back to a1b: its latest branch again, not the a3 chosen before.
    selection = select(tree, selection, byId("a1b"));
    expect(ids(visiblePath(tree, selection))).toEqual(["u1", "a1b", "u3", "a3b"]);
  });

  it("stops at a cycle instead of hanging", () => {
    const cyclic = [
      m("x", "y", "user"),
      m("y", "x", "assistant"),
      m("r", null, "user"),
      m("s", "r", "assistant"),
    ];
    expect(ids(visiblePath(cyclic, new Map()))).toEqual(["r", "s"]);
  });
});
