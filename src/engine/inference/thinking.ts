import { AppError } from "../../errors.js";
import { thinkingTags, type ThinkingTags } from "../../models/thinking-tags.js";
import { ThinkingParser } from "./thinking-parser.js";
import type { GenerateEvent } from "../types.js";
import type { ThinkSetting } from "./types.js";

/** How one request thinks: the setting passed to the template, and the tags to split on. */
export interface ThinkPlan {
  /** What the template sees; undefined for a model that does not think. */
  think: ThinkSetting | undefined;
  tags: ThinkingTags | undefined;
}

/**
 * Ollama's rule (server/routes.go): a model whose template thinks defaults to `think: true`; asking
 * a model that does not think for it (true or a level) is a 400 naming the model, which clients
 * use to probe the capability; `think: false` is accepted by every model.
 */
export function planThinking(model: string, template: string, think: ThinkSetting | undefined): ThinkPlan {
  const tags = thinkingTags(template);
  if (tags) return { think: think ?? true, tags };
  if (think !== undefined && think !== false) {
    throw new AppError("invalid_request", `"${model}" does not support thinking`, { param: "think" });
  }
  return { think: undefined, tags: undefined };
}

/**
 * Where a format's grammar starts (GenerateRequest.formatAfter). A model that writes a thinking
 * block gets it after the block's closing tag, as Ollama does: from the first token it would force
 * the reasoning into JSON and leave the JSON split between reasoning and answer. That is when
 * thinking is on, or when the prompt opened the block itself (R1-style templates do so even for
 * `think: false`; splitThinking drops that reasoning). Otherwise (no thinking, or a template that
 * closed the block) the grammar applies from the first token.
 */
export function formatAfter(plan: ThinkPlan, prompt: string): string | undefined {
  if (!plan.tags) return undefined;
  return plan.think !== false || opensInside(plan.tags, prompt) ? plan.tags.close : undefined;
}

/** The prompt ends with the opening tag: the model's output starts inside its reasoning. */
function opensInside(tags: ThinkingTags, prompt: string): boolean {
  return prompt.trimEnd().endsWith(tags.open);
}

/** Engine events with the reasoning split out of the text. */
export type SplitEvent = GenerateEvent | { type: "thinking"; text: string };

/**
 * Splits text events into thinking and text. With thinking off the reasoning is dropped: a model
 * whose template cannot switch it off still thinks, and the client asked not to see it.
 */
export function splitThinking(
  events: AsyncIterable<GenerateEvent>,
  plan: ThinkPlan,
  prompt: string,
): AsyncIterable<SplitEvent> {
  // Models that do not think get their events as they are: no extra step per token.
  return plan.tags ? split(events, plan.tags, plan.think !== false, prompt) : events;
}

async function* split(
  events: AsyncIterable<GenerateEvent>,
  tags: ThinkingTags,
  show: boolean,
  prompt: string,
): AsyncGenerator<SplitEvent, void, undefined> {
  const parser = new ThinkingParser(tags, opensInside(tags, prompt));
  const emit = function* (split: { thinking: string; content: string }): Generator<SplitEvent> {
    if (show && split.thinking !== "") yield { type: "thinking", text: split.thinking };
    if (split.content !== "") yield { type: "text", text: split.content };
  };
  for await (const event of events) {
    if (event.type === "text") yield* emit(parser.push(event.text));
    else {
      if (event.type === "done") yield* emit(parser.finish());
      yield event;
    }
  }
}
