import { describe, expect, it } from "vitest";
import { IncrementalDetokenizer, StopMatcher } from "../../src/engine/runner/text.js";
import { resolveThreads } from "../../src/engine/threads.js";

/**
 * A byte-level "vocabulary": token id = one byte. Decoding goes through the real TextDecoder,
 * which (like llama.cpp's detokenizer) yields U+FFFD for an incomplete UTF-8 sequence.
 */
const decoder = new TextDecoder();
const detokenize = (tokens: readonly number[]) => decoder.decode(Uint8Array.from(tokens));

function bytesOf(text: string): number[] {
  return [...new TextEncoder().encode(text)];
}

describe("IncrementalDetokenizer", () => {
  it("never emits a partial UTF-8 character", () => {
    const text = "añ€😀!";
    const detok = new IncrementalDetokenizer(detokenize, []);
    const pieces = bytesOf(text).map((byte) => detok.push(byte));
    expect(pieces.join("") + detok.flush()).toBe(text);
    for (const piece of pieces) expect(piece).not.toContain("\uFFFD");
    // The 4-byte emoji comes out whole, on its last byte.
    expect(pieces).toContain("😀");
  });

  it("flushes invalid trailing bytes at the end instead of holding them forever", () => {
    const detok = new IncrementalDetokenizer(detokenize, []);
    expect(detok.push(0xe2)).toBe("");
    expect(detok.flush()).toBe("\uFFFD");
  });
});

describe("StopMatcher", () => {
  function run(stops: string[], pieces: string[]): { text: string; stopped: boolean } {
    const matcher = new StopMatcher(stops);
    let text = "";
    for (const piece of pieces) {
      const out = matcher.push(piece);
      text += out.emit;
      if (out.stopped) return { text, stopped: true };
    }
    return { text: text + matcher.flush(), stopped: false };
  }

  it("ends before a stop string split across pieces and never emits it", () => {
    expect(run(["world"], ["Hello", " wo", "rld", "!"])).toEqual({ text: "Hello ", stopped: true });
    expect(run(["</s>"], ["a<", "/", "s>b"])).toEqual({ text: "a", stopped: true });
  });

  it("holds back only what could start a stop string, and releases it when it does not", () => {
    const matcher = new StopMatcher(["STOP"]);
    expect(matcher.push("abcST")).toEqual({ emit: "abc", stopped: false });
    expect(matcher.push("x")).toEqual({ emit: "STx", stopped: false });
    expect(run(["STOP"], ["ab", "ST"])).toEqual({ text: "abST", stopped: false });
  });

  it("stops at the earliest of several stop strings", () => {
    expect(run(["c", "b"], ["abc"])).toEqual({ text: "a", stopped: true });
  });
});

describe("resolveThreads", () => {
  it("uses the cores available, never more, unless num_thread or config say otherwise", () => {
    expect(resolveThreads("auto", undefined, 2)).toBe(2);
    expect(resolveThreads(3, undefined, 2)).toBe(3);
    expect(resolveThreads("auto", 1, 2)).toBe(1);
    expect(resolveThreads(3, 0, 2)).toBe(3);
  });

  it("never gives a request more threads than the machine has cores", () => {
    expect(resolveThreads("auto", 100_000, 2)).toBe(2);
    expect(resolveThreads(1, 8, 4)).toBe(4);
  });
});
