import { describe, expect, it } from "vitest";
import { applyDeltas, queueDelta } from "./answer-deltas";
import type { Message } from "./api/types";

const answer = (content: string, thinking: string | null): Message => ({
  id: "a",
  parent_id: "q",
  role: "assistant",
  content,
  thinking,
  model: "qwen3",
  status: "streaming",
  error: null,
  tool_calls: null,
  stats: null,
  created_at: "2026-01-01T00:00:00.000Z",
});

describe("answer deltas", () => {
  it("appends reasoning and text to their own fields, reasoning to a message that had none", () => {
    let batch = queueDelta({}, "thinking", "Weigh", false);
    batch = queueDelta(batch, "thinking", "ing", false);
    batch = queueDelta(batch, "content", "Hel", false);
    batch = queueDelta(batch, "content", "lo", false);
    expect(applyDeltas(answer("", null), batch)).toMatchObject({ thinking: "Weighing", content: "Hello" });
    expect(applyDeltas(answer("Say ", "Hmm, "), batch)).toMatchObject({
      thinking: "Hmm, Weighing",
      content: "Say Hello",
    });
  });

  it("a replacing piece (a re-attach's first line) replaces its field only, and what was queued before it", () => {
    let batch = queueDelta({}, "content", "stale", false);
    batch = queueDelta(batch, "thinking", "so far", true);
    batch = queueDelta(batch, "thinking", " and on", false);
    batch = queueDelta(batch, "content", "Answer", true);
    expect(applyDeltas(answer("old text", "old reasoning"), batch)).toMatchObject({
      thinking: "so far and on",
      content: "Answer",
    });
    // A field with nothing queued is left as it is.
    expect(applyDeltas(answer("kept", "kept too"), queueDelta({}, "content", "!", false))).toMatchObject({
      thinking: "kept too",
      content: "kept!",
    });
  });
});
