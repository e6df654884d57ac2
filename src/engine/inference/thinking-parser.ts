import type { ThinkingTags } from "../../models/thinking-tags.js";

/**
 * Splits a thinking model's streamed output into reasoning and answer. The output may open with
 * the opening tag (after optional whitespace), or start inside the reasoning when the prompt
 * already ended with the opening tag (DeepSeek-R1's templates). Tags may arrive cut across any
 * number of pieces, so text that could be the start of a tag is held back until it is known.
 * Whitespace right after either tag is dropped, as Ollama does (thinking/parser.go).
 */

type State = "before" | "opened" | "thinking" | "closed" | "answer";

export interface ThinkingSplit {
  thinking: string;
  content: string;
}

/** Length of the longest suffix of `text` that is a proper prefix of `tag`. */
function partialTagLength(text: string, tag: string): number {
  for (let len = Math.min(tag.length - 1, text.length); len > 0; len--) {
    if (text.endsWith(tag.slice(0, len))) return len;
  }
  return 0;
}

export class ThinkingParser {
  private state: State;
  private held = "";

  /** `startInside`: the prompt ended with the opening tag, so output begins as reasoning. */
  constructor(
    private readonly tags: ThinkingTags,
    startInside = false,
  ) {
    this.state = startInside ? "opened" : "before";
  }

  push(text: string): ThinkingSplit {
    this.held += text;
    const out: ThinkingSplit = { thinking: "", content: "" };
    while (this.step(out));
    return out;
  }

  /** At the end of output: whatever is held goes where the current state says. */
  finish(): ThinkingSplit {
    const rest = this.held;
    this.held = "";
    if (this.state === "thinking" || this.state === "opened") return { thinking: rest, content: "" };
    return { thinking: "", content: this.state === "closed" ? rest.trimStart() : rest };
  }

  /** One transition; true when another may follow on the held text. */
  private step(out: ThinkingSplit): boolean {
    const { open, close } = this.tags;
    switch (this.state) {
      case "before": {
        const trimmed = this.held.trimStart();
        if (trimmed.startsWith(open)) {
          this.held = trimmed.slice(open.length);
          this.state = "opened";
          return true;
        }
        // Only whitespace, or the beginning of the tag so far: wait for more.
        if (trimmed === "" || open.startsWith(trimmed)) return false;
        // The model answered without thinking: the text is content, whitespace and all.
        out.content += this.held;
        this.held = "";
        this.state = "answer";
        return false;
      }
      case "opened": {
        const trimmed = this.held.trimStart();
        this.held = trimmed;
        if (trimmed === "") return false;
        this.state = "thinking";
        return true;
      }
      case "thinking": {
        const at = this.held.indexOf(close);
        if (at >= 0) {
          out.thinking += this.held.slice(0, at);
          this.held = this.held.slice(at + close.length);
          this.state = "closed";
          return true;
        }
        const keep = partialTagLength(this.held, close);
        out.thinking += this.held.slice(0, this.held.length - keep);
        this.held = this.held.slice(this.held.length - keep);
        return false;
      }
      case "closed": {
        const trimmed = this.held.trimStart();
        this.held = "";
        if (trimmed === "") return false;
        out.content += trimmed;
        this.state = "answer";
        return false;
      }
      case "answer":
        out.content += this.held;
        this.held = "";
        return false;
    }
  }
}
