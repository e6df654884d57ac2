import { describe, expect, it } from "vitest";
import { ThinkingParser, type ThinkingSplit } from "../../src/engine/inference/thinking-parser.js";
import { planThinking } from "../../src/engine/inference/thinking.js";
import { renderChatTemplate } from "../../src/engine/inference/template.js";
import { thinkingTags } from "../../src/models/thinking-tags.js";
import { AppError } from "../../src/errors.js";

const TAGS = { open: "<think>", close: "</think>" };

/** Feeds `pieces` one by one and joins what comes out. */
function run(pieces: string[], startInside = false): ThinkingSplit {
  const parser = new ThinkingParser(TAGS, startInside);
  const out: ThinkingSplit = { thinking: "", content: "" };
  for (const piece of [...pieces.map((p) => parser.push(p)), parser.finish()]) {
    out.thinking += piece.thinking;
    out.content += piece.content;
  }
  return out;
}

/** Every way of cutting `text` into two pieces, and one character at a time. */
function cuts(text: string): string[][] {
  const all = [[...text]];
  for (let i = 0; i <= text.length; i++) all.push([text.slice(0, i), text.slice(i)]);
  return all;
}

describe("ThinkingParser", () => {
  it("splits a Qwen3-style answer however the tags are cut across pieces", () => {
    for (const pieces of cuts("\n<think>\nI weigh it.\n</think>\n\nThe answer.")) {
      expect(run(pieces)).toEqual({ thinking: "I weigh it.\n", content: "The answer." });
    }
  });

  it("starts inside the reasoning when the prompt ended with the opening tag (DeepSeek-R1)", () => {
    for (const pieces of cuts("Let me see</think>\n\nSo: 4")) {
      expect(run(pieces, true)).toEqual({ thinking: "Let me see", content: "So: 4" });
    }
  });

  it("passes an answer without a think block through whole, leading whitespace included", () => {
    for (const pieces of cuts("  <thinking is fun>")) {
      expect(run(pieces)).toEqual({ thinking: "", content: "  <thinking is fun>" });
    }
  });

  it("keeps text that only looks like the start of the closing tag in the reasoning", () => {
    expect(run(["<think>a </th", "ink or not", "</think>b"])).toEqual({
      thinking: "a </think or not",
      content: "b",
    });
  });

  it("streams reasoning before the closing tag arrives, holding back only a possible tag start", () => {
    const parser = new ThinkingParser(TAGS);
    expect(parser.push("<think>abc</")).toEqual({ thinking: "abc", content: "" });
    expect(parser.push("think>x")).toEqual({ thinking: "", content: "x" });
  });

  it("gives an unfinished reasoning back as reasoning when the output ends", () => {
    expect(run(["<think>still going"])).toEqual({ thinking: "still going", content: "" });
  });
});

describe("thinking support", () => {
  it("is read from the template as Ollama reads it", () => {
    expect(thinkingTags("{{ '<think>' }}x{{ '</think>' }}")).toEqual(TAGS);
    expect(thinkingTags("{% set c = message.content.split('</think>')[-1] %}")).toEqual(TAGS);
    // A template with a field of its own for reasoning is not split on tags.
    expect(thinkingTags("{{ reasoning_content }} content.split('</think>')")).toBeUndefined();
    expect(
      thinkingTags(
        "{{ range .Messages }}{{ if .Thinking }}<thought>{{ .Thinking }}</thought>{{ end }}{{ end }}",
      ),
    ).toEqual({
      open: "<thought>",
      close: "</thought>",
    });
    expect(thinkingTags("<|im_start|>{{ .Prompt }}")).toBeUndefined();
    expect(thinkingTags("")).toBeUndefined();
  });

  it("defaults to on for a thinking model and refuses think for a model without it", () => {
    const qwen = "<think></think>";
    expect(planThinking("q", qwen, undefined).think).toBe(true);
    expect(planThinking("q", qwen, false).think).toBe(false);
    expect(planThinking("q", qwen, "high").think).toBe("high");
    expect(planThinking("plain", "{{ .Prompt }}", false)).toEqual({ think: undefined, tags: undefined });
    for (const think of [true, "low"] as const) {
      let error: unknown;
      try {
        planThinking("plain", "{{ .Prompt }}", think);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).code).toBe("invalid_request");
      expect((error as AppError).message).toBe('"plain" does not support thinking');
    }
  });

  it("passes think to Jinja (enable_thinking) and Go (.Think, .ThinkLevel, .IsThinkSet) templates", () => {
    const jinja =
      "{% if enable_thinking is defined %}{{ enable_thinking }}/{{ reasoning_effort }}{% else %}unset{% endif %}";
    const base = { messages: [{ role: "user" as const, content: "hi" }], bosToken: "", eosToken: "" };
    expect(renderChatTemplate(jinja, base)).toBe("unset");
    expect(renderChatTemplate(jinja, { ...base, think: false })).toBe("false/");
    expect(renderChatTemplate(jinja, { ...base, think: "high" })).toBe("true/high");
    const go = "{{ range .Messages }}{{ end }}{{ .Think }}|{{ .ThinkLevel }}|{{ .IsThinkSet }}";
    expect(renderChatTemplate(go, { ...base, origin: "ollama" })).toBe("false||false");
    expect(renderChatTemplate(go, { ...base, origin: "ollama", think: "low" })).toBe("true|low|true");
  });
});
