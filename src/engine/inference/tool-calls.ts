import { randomBytes } from "node:crypto";
import type { ToolCall } from "./types.js";

/**
 * Tool-call detection in model output. Models announce calls in a few formats:
 * Hermes/Qwen `<tool_call>{json}</tool_call>` (repeated), Mistral `[TOOL_CALLS] [...]` (or the
 * newer `[TOOL_CALLS]name[ARGS]{...}`), and Llama 3 style bare JSON as the whole output.
 */

const HERMES_OPEN = "<tool_call>";
const HERMES_CLOSE = "</tool_call>";
const MISTRAL = "[TOOL_CALLS]";
const MISTRAL_ARGS = "[ARGS]";
const TAGS = [HERMES_OPEN, MISTRAL] as const;

export function newToolCallId(): string {
  return `call_${randomBytes(9).toString("hex")}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Turns one parsed JSON object into a call, or undefined when it is not shaped like one. */
export function toToolCall(value: unknown): ToolCall | undefined {
  if (!isPlainObject(value)) return undefined;
  // OpenAI-shaped `{type:"function", function:{name, arguments}}` also appears in outputs.
  const fn = isPlainObject(value.function) ? value.function : value;
  const name = fn.name;
  if (typeof name !== "string" || name === "") return undefined;
  let args: unknown = fn.arguments ?? fn.parameters ?? {};
  if (typeof args === "string") args = parseJson(args);
  if (!isPlainObject(args)) return undefined;
  const id = typeof value.id === "string" && value.id !== "" ? value.id : newToolCallId();
  return { id, name, arguments: args };
}

/** Calls from a JSON object or array of objects; undefined unless every element is a call. */
function toToolCalls(value: unknown): ToolCall[] | undefined {
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return undefined;
  const calls: ToolCall[] = [];
  for (const item of items) {
    const call = toToolCall(item);
    if (call === undefined) return undefined;
    calls.push(call);
  }
  return calls;
}

/** End index (exclusive) of the JSON value starting at `start` (after whitespace), or -1. */
export function scanJsonValue(text: string, start: number): number {
  let i = start;
  while (i < text.length && /\s/.test(text[i] as string)) i++;
  const first = text[i];
  if (first !== "{" && first !== "[") {
    const match = /^(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(
      text.slice(i),
    );
    return match ? i + match[0].length : -1;
  }
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

export interface ParsedOutput {
  /** Plain text left after removing the parsed calls (unparseable call text stays here). */
  text: string;
  calls: ToolCall[];
}

/**
 * Text before the first call is kept as it was streamed (whitespace-only text is dropped, as a
 * stream holds it back); what is left between and after calls is trimmed.
 */
function joinText(before: string, after: string, found: boolean): string {
  if (!found) return before + after;
  return (before.trim() === "" ? "" : before) + after.trim();
}

function parseHermes(text: string): ParsedOutput {
  const calls: ToolCall[] = [];
  const first = text.indexOf(HERMES_OPEN);
  let rest = "";
  let at = first;
  while (at < text.length) {
    const open = text.indexOf(HERMES_OPEN, at);
    if (open < 0) break;
    rest += text.slice(at, open);
    const bodyStart = open + HERMES_OPEN.length;
    const close = text.indexOf(HERMES_CLOSE, bodyStart);
    // A final call without its closing tag happens when generation stops on the tag itself.
    const bodyEnd = close < 0 ? text.length : close;
    const end = close < 0 ? text.length : close + HERMES_CLOSE.length;
    const parsed = toToolCalls(parseJson(text.slice(bodyStart, bodyEnd).trim()));
    if (parsed) calls.push(...parsed);
    else rest += text.slice(open, end);
    at = end;
  }
  rest += text.slice(at);
  return { text: joinText(text.slice(0, first), rest, calls.length > 0), calls };
}

function parseMistral(text: string): ParsedOutput {
  const calls: ToolCall[] = [];
  const first = text.indexOf(MISTRAL);
  let rest = "";
  let at = first;
  while (at < text.length) {
    const tag = text.indexOf(MISTRAL, at);
    if (tag < 0) break;
    rest += text.slice(at, tag);
    const bodyStart = tag + MISTRAL.length;
    let end: number;
    let parsed: ToolCall[] | undefined;
    const argsAt = text.indexOf(MISTRAL_ARGS, bodyStart);
    const namePart = argsAt < 0 ? "" : text.slice(bodyStart, argsAt).trim();
    if (argsAt >= 0 && /^[\w.-]+$/.test(namePart)) {
      end = scanJsonValue(text, argsAt + MISTRAL_ARGS.length);
      const args = end < 0 ? undefined : parseJson(text.slice(argsAt + MISTRAL_ARGS.length, end));
      const call = toToolCall({ name: namePart, arguments: args });
      parsed = call ? [call] : undefined;
    } else {
      end = scanJsonValue(text, bodyStart);
      parsed = end < 0 ? undefined : toToolCalls(parseJson(text.slice(bodyStart, end)));
    }
    if (parsed && end >= 0) {
      calls.push(...parsed);
      at = end;
    } else {
      // Unparseable: keep everything from the tag on as text.
      rest += text.slice(tag);
      at = text.length;
    }
  }
  rest += text.slice(at);
  return { text: joinText(text.slice(0, first), rest, calls.length > 0), calls };
}

function parseBare(text: string, toolNames: readonly string[] | undefined): ParsedOutput {
  const calls = toToolCalls(parseJson(text.trim()));
  // Bare JSON is only a call when it names a known tool: a model may answer with plain JSON data.
  if (!calls || (toolNames && !calls.every((call) => toolNames.includes(call.name)))) {
    return { text, calls: [] };
  }
  return { text: "", calls };
}

/** Parses a complete output; text without any call comes back unchanged with no calls. */
export function parseToolCalls(output: string, toolNames?: readonly string[]): ParsedOutput {
  if (output.includes(HERMES_OPEN)) return parseHermes(output);
  if (output.includes(MISTRAL)) return parseMistral(output);
  const trimmed = output.trimStart();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) return parseBare(output, toolNames);
  return { text: output, calls: [] };
}

/** True while `text` (leading whitespace removed) may still grow into a call at the output's start. */
function couldStartCall(text: string): boolean {
  if (text === "") return true;
  if (TAGS.some((tag) => tag.startsWith(text) || text.startsWith(tag))) return true;
  const rest = text.slice(1).trimStart();
  if (text.startsWith("{")) return rest === "" || rest.startsWith('"');
  if (text.startsWith("[")) return rest === "" || (rest.startsWith("{") && couldStartCall(rest));
  return false;
}

/** Length of the longest suffix of `text` that is a proper prefix of a tag. */
function partialTagLength(text: string): number {
  let best = 0;
  for (const tag of TAGS) {
    for (let n = Math.min(tag.length - 1, text.length); n > best; n--) {
      if (text.endsWith(tag.slice(0, n))) {
        best = n;
        break;
      }
    }
  }
  return best;
}

/**
 * Streaming detector: text passes through until the output starts with (or reaches) a tool-call
 * prefix; from there on it is held back and parsed at the end. Feeding the same output in any
 * chunking gives the same concatenated text and the same calls.
 */
export interface ToolCallStream {
  /** Feeds generated text; returns the text that is safe to show now (may be empty). */
  push(chunk: string): string;
  /** Ends the stream: the held-back text parsed into calls and leftover text. */
  finish(): ParsedOutput;
}

export function createToolCallStream(toolNames?: readonly string[]): ToolCallStream {
  let pending = "";
  let buffering = false;
  // Bare JSON counts as a call only as the whole output, so only before any text was shown.
  let bareStillPossible = true;

  const step = (): string => {
    const tagAt = Math.min(...TAGS.map((tag) => pending.indexOf(tag)).filter((i) => i >= 0), Infinity);
    if (tagAt !== Infinity) {
      buffering = true;
      const shown = pending.slice(0, tagAt);
      // Whitespace before a leading tag stays in the buffer so a pure call shows no text at all.
      if (bareStillPossible && shown.trim() === "") return "";
      pending = pending.slice(tagAt);
      return shown;
    }
    if (bareStillPossible) {
      if (couldStartCall(pending.trimStart())) return "";
      bareStillPossible = false;
    }
    const keep = partialTagLength(pending);
    const shown = pending.slice(0, pending.length - keep);
    pending = pending.slice(pending.length - keep);
    return shown;
  };

  return {
    push(chunk) {
      if (buffering) {
        pending += chunk;
        return "";
      }
      pending += chunk;
      return step();
    },
    finish() {
      const text = pending;
      pending = "";
      buffering = false;
      return parseToolCalls(text, toolNames);
    },
  };
}
