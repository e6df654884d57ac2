/**
 * The chat service's memory of each chat's latest finished turn (src/chat/recent-turns.ts): found
 * only for its user and its answer, bounded to 64 chats, and never kept for a turn that began
 * before its chat's settings changed (the turn would carry the old ones).
 */
import { expect, it } from "vitest";
import { RecentTurns, type RecentTurn } from "../../src/chat/recent-turns.js";
import type { Conversation } from "../../src/store/chat-fields.js";

const turn = (conversationId: string, answerId: string, userId = "alice"): RecentTurn => {
  const conversation: Conversation = {
    id: conversationId,
    userId,
    title: "",
    model: "m",
    pinned: false,
    system: null,
    options: {},
    createdAt: new Date(0),
    updatedAt: new Date(0),
  };
  return { answerId, conversation, path: [] };
};

it("finds a chat's turn for its user and its latest answer only, for the 64 chats used last", () => {
  const recent = new RecentTurns();
  recent.remember(turn("c1", "a1"), recent.begin());
  expect(recent.recall("alice", "c1", "a1")?.answerId).toBe("a1");
  expect(recent.recall("bob", "c1", "a1")).toBeUndefined();
  expect(recent.recall("alice", "c1", "other")).toBeUndefined();
  recent.remember(turn("c1", "a2"), recent.begin());
  expect(recent.recall("alice", "c1", "a1")).toBeUndefined();
  expect(recent.recall("alice", "c1", "a2")?.answerId).toBe("a2");

  for (let i = 0; i < 64; i++) recent.remember(turn(`other-${i}`, "x"), recent.begin());
  expect(recent.recall("alice", "c1", "a2")).toBeUndefined();
  expect(recent.recall("alice", "other-0", "x")).toBeDefined();
});

it("does not keep a turn that began before its chat was forgotten; later turns are kept again", () => {
  const recent = new RecentTurns();
  const before = recent.begin();
  recent.forget("c1");
  recent.remember(turn("c1", "a1"), before);
  expect(recent.recall("alice", "c1", "a1")).toBeUndefined();
  // Another chat's turn of the same moment is kept: the forget was not about it.
  recent.remember(turn("c2", "b1"), before);
  expect(recent.recall("alice", "c2", "b1")).toBeDefined();
  recent.remember(turn("c1", "a2"), recent.begin());
  expect(recent.recall("alice", "c1", "a2")).toBeDefined();
  recent.forget("c1");
  expect(recent.recall("alice", "c1", "a2")).toBeUndefined();
});

it("past 4096 forgets, turns begun before the last of them are not kept", () => {
  const recent = new RecentTurns();
  const before = recent.begin();
  for (let i = 0; i <= 4096; i++) recent.forget(`gone-${i}`);
  recent.remember(turn("c1", "a1"), before);
  expect(recent.recall("alice", "c1", "a1")).toBeUndefined();
  recent.remember(turn("c1", "a2"), recent.begin());
  expect(recent.recall("alice", "c1", "a2")).toBeDefined();
});
