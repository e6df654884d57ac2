import { AppError } from "../../errors.js";
import { parseJinja, renderJinja } from "./jinja.js";
import { goTemplateSupportsInsert, renderGoChat, renderGoInsert } from "./template-go.js";
import type { ChatMessage, ThinkSetting, ToolSpec } from "./types.js";

/**
 * Chat prompt rendering. Templates come from three places (ModelRecord.template, the GGUF's
 * `tokenizer.chat_template`, or the fallback below) in two languages: Hugging Face Jinja and
 * Ollama's Go templates. Both run in interpreters that see only the values passed here.
 */

/** Largest template accepted, bytes (real chat templates are under ~30 KiB). */
export const MAX_TEMPLATE_BYTES = 256 * 1024;

/**
 * Used when a model has no template at all: the conversation as plain text, which is what a base
 * model continues best. Ollama's own default is `{{ .Prompt }}`.
 */
export const FALLBACK_TEMPLATE = `{{- if .System }}{{ .System }}

{{ end }}{{ range .Messages }}{{ if ne .Role "system" }}{{ .Content }}{{ end }}{{ end }}`;

export interface ChatRenderInput {
  messages: readonly ChatMessage[];
  /** Tools offered to the model (already filtered by tool choice). */
  tools?: readonly ToolSpec[];
  bosToken: string;
  eosToken: string;
  /** Where the template came from; see `isGoTemplate`. Default "gguf". */
  origin?: TemplateOrigin;
  /** The request's `think` (undefined: not set, and the template's own default applies). */
  think?: ThinkSetting;
}

/**
 * The variables thinking templates read. Jinja: Qwen3's `enable_thinking`, DeepSeek-V3.1's
 * `thinking`, gpt-oss's `reasoning_effort`; only set when the request set `think`, so a template's
 * own default stays in force otherwise. Go: Ollama's `.Think`, `.ThinkLevel`, `.IsThinkSet`.
 */
function thinkVariables(think: ThinkSetting | undefined, go: boolean): Record<string, unknown> {
  const on = think !== undefined && think !== false;
  const level = typeof think === "string" ? think : "";
  if (go) return { Think: on, ThinkLevel: level, IsThinkSet: think !== undefined };
  if (think === undefined) return {};
  return { enable_thinking: on, thinking: on, ...(level === "" ? {} : { reasoning_effort: level }) };
}

/**
 * "ollama": a template layer or a request's `template` (Ollama's are Go templates);
 * "gguf": `tokenizer.chat_template` (Hugging Face Jinja).
 */
export type TemplateOrigin = "ollama" | "gguf";

const GO_SYNTAX = /\{\{-?\s*(?:\.|\$|(?:if|range|with|else|end|block|define|template|break|continue)\b|\/\*)/;
// Jinja statements/comments, or an expression Go cannot write: `x[..]`, `x | f`, `x + y`, `x.attr`, `f(..)`.
const JINJA_SYNTAX = /\{[%#]|\{\{-?\s*[A-Za-z_]\w*\s*(?:\[|\||\+|~|\(|\.\w)/;

/**
 * Ollama templates are Go templates (`{{ .Prompt }}`, `{{ range .Messages }}`); HF ones are Jinja.
 * A template that shows neither language's marks is taken as its origin's language.
 */
export function isGoTemplate(source: string, origin: TemplateOrigin = "gguf"): boolean {
  if (source.includes("{%") || source.includes("{#")) return false;
  if (GO_SYNTAX.test(source)) return true;
  return origin === "ollama" && !JINJA_SYNTAX.test(source);
}

function checkSize(source: string): void {
  if (Buffer.byteLength(source) > MAX_TEMPLATE_BYTES) {
    throw new AppError("invalid_request", `template error: template larger than ${MAX_TEMPLATE_BYTES} bytes`);
  }
}

function templateError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const message = error instanceof Error ? error.message : String(error);
  // Messages come from our own interpreters (no paths or stacks); keep them short for the client.
  return new AppError("invalid_request", `template error: ${message.slice(0, 300)}`, { cause: error });
}

/** OpenAI-style tools, the shape Hugging Face templates iterate over. */
function jinjaTools(tools: readonly ToolSpec[]): unknown[] {
  return tools.map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: tool.parameters ?? { type: "object", properties: {} },
    },
  }));
}

function jinjaMessage(message: ChatMessage): Record<string, unknown> {
  const out: Record<string, unknown> = { role: message.role, content: message.content };
  if (message.toolCalls && message.toolCalls.length > 0) {
    out.tool_calls = message.toolCalls.map((call) => ({
      id: call.id,
      type: "function",
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  if (message.toolName !== undefined) out.name = message.toolName;
  if (message.toolCallId !== undefined) out.tool_call_id = message.toolCallId;
  if (message.thinking !== undefined) out.reasoning_content = message.thinking;
  return out;
}

/** Renders the conversation followed by the assistant's generation prompt. */
export function renderChatTemplate(source: string, input: ChatRenderInput): string {
  checkSize(source);
  const tools = input.tools && input.tools.length > 0 ? input.tools : undefined;
  try {
    if (isGoTemplate(source, input.origin)) {
      return renderGoChat(source, input.messages, tools, thinkVariables(input.think, true));
    }
    return renderJinja(source, {
      ...thinkVariables(input.think, false),
      messages: input.messages.map(jinjaMessage),
      // HF passes `tools=None` when there are none; templates test `tools is not none`.
      tools: tools ? jinjaTools(tools) : null,
      add_generation_prompt: true,
      bos_token: input.bosToken,
      eos_token: input.eosToken,
    });
  } catch (error) {
    throw templateError(error);
  }
}

/**
 * Checks a template a client gives a model (`/api/create`): a 400 then, not on every later
 * request. Jinja is parsed; a Go template is also rendered with a one-message chat, since Go
 * finds an undefined function (`{{ .Prompt | bogus }}`) only when it runs, where Ollama's parser
 * refuses it at once.
 */
export function checkTemplate(source: string): void {
  checkSize(source);
  try {
    if (isGoTemplate(source, "ollama")) {
      renderGoChat(source, [{ role: "user", content: "hi" }], undefined, thinkVariables(undefined, true));
    } else {
      parseJinja(source);
    }
  } catch (error) {
    throw templateError(error);
  }
}

/** Whether a template can render fill-in-the-middle (`suffix`) prompts. */
export function templateSupportsInsert(source: string, origin: TemplateOrigin = "gguf"): boolean {
  try {
    if (isGoTemplate(source, origin)) return goTemplateSupportsInsert(source);
  } catch {
    return false;
  }
  return /\bsuffix\b/.test(source);
}

/** Renders a fill-in-the-middle prompt (only for templates that support insert). */
export function renderInsertTemplate(
  source: string,
  input: { prompt: string; suffix: string; bosToken: string; eosToken: string; origin?: TemplateOrigin },
): string {
  checkSize(source);
  try {
    if (isGoTemplate(source, input.origin)) return renderGoInsert(source, input.prompt, input.suffix);
    return renderJinja(source, {
      prompt: input.prompt,
      suffix: input.suffix,
      messages: [{ role: "user", content: input.prompt }],
      tools: null,
      add_generation_prompt: true,
      bos_token: input.bosToken,
      eos_token: input.eosToken,
    });
  } catch (error) {
    throw templateError(error);
  }
}
