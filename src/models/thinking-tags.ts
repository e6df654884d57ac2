/**
 * Whether a chat template makes a thinking model, and the tags around its reasoning. Ollama
 * decides this from the template (server/images.go): a Jinja template that writes `<think>` and
 * `</think>` (Qwen3, DeepSeek-R1), or one that splits past answers at `</think>` to drop their
 * reasoning; an Ollama Go template that prints `.Thinking` inside its loop over `.Messages`, between
 * the two tags it writes around it.
 */

export interface ThinkingTags {
  open: string;
  close: string;
}

const THINK: ThinkingTags = { open: "<think>", close: "</think>" };

/** `{{ .Thinking }}` (any spacing, trim markers) with the text written just before and after it. */
const GO_THINKING = /([^\s{}]+)\s*\{\{-?\s*\.Thinking\s*-?\}\}\s*([^\s{}]+)/;

function jinjaSplitsAtCloseTag(template: string): boolean {
  // Templates that name `reasoning_content` carry reasoning in a field of their own, and
  // Mistral's special-token templates (<SPECIAL_12>) think in another format: Ollama skips both.
  return (
    (template.includes("content.split('</think>')") || template.includes('content.split("</think>")')) &&
    !template.includes("reasoning_content") &&
    !template.includes("<SPECIAL_12>")
  );
}

/** The thinking tags of `template`, or undefined when it does not describe a thinking model. */
export function thinkingTags(template: string): ThinkingTags | undefined {
  if (template === "") return undefined;
  if (template.includes(".Thinking")) {
    const match = GO_THINKING.exec(template);
    if (match?.[1] && match[2]) return { open: match[1], close: match[2] };
  }
  if (template.includes(THINK.open) && template.includes(THINK.close)) return THINK;
  if (jinjaSplitsAtCloseTag(template)) return THINK;
  return undefined;
}
