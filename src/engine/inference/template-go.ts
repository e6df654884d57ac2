import { executeGoTemplate, JSON_FORM } from "./go-template-exec.js";
import { parseGoTemplate, templateFields, type Node } from "./go-template-parse.js";
import type { ChatMessage, ToolSpec } from "./types.js";

/**
 * Ollama's template semantics (template/template.go) on top of the Go-template interpreter:
 * the values a template sees (`.System`, `.Messages`, `.Tools`, `.Prompt`, `.Response`,
 * `.Suffix`), message collation, and the legacy per-turn rendering of `.Prompt`/`.Response`
 * templates.
 */

interface Parsed {
  nodes: Node[];
  fields: Set<string>;
}

const cache = new Map<string, Parsed>();
const CACHE_SIZE = 32;

function parsed(source: string): Parsed {
  let entry = cache.get(source);
  if (!entry) {
    const nodes = parseGoTemplate(source);
    entry = { nodes, fields: templateFields(nodes) };
    cache.set(source, entry);
    if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  }
  return entry;
}

function withJson<T extends object>(value: T, form: unknown): T {
  Object.defineProperty(value, JSON_FORM, { value: form, enumerable: false });
  return value;
}

/** Ollama's ToolProperty with Go field names; printing it gives its JSON. */
function property(schema: unknown): Record<string, unknown> {
  const s = (schema !== null && typeof schema === "object" ? schema : {}) as Record<string, unknown>;
  return withJson({ Type: s.type, Description: s.description ?? "", Enum: s.enum, Items: s.items }, s);
}

function goTools(tools: readonly ToolSpec[] | undefined): unknown {
  if (!tools || tools.length === 0) return undefined;
  const list = tools.map((tool) => {
    const params: Record<string, unknown> = tool.parameters ?? { type: "object", properties: {} };
    const props = (params.properties ?? {}) as Record<string, unknown>;
    const properties = withJson(
      Object.fromEntries(Object.entries(props).map(([name, schema]) => [name, property(schema)])),
      props,
    );
    const wire = {
      type: "function",
      function: { name: tool.name, description: tool.description ?? "", parameters: params },
    };
    return withJson(
      {
        Type: "function",
        Function: {
          Name: tool.name,
          Description: tool.description ?? "",
          Parameters: { Type: params.type ?? "object", Required: params.required, Properties: properties },
        },
      },
      wire,
    );
  });
  return withJson(
    list,
    list.map((t) => (t as unknown as { [JSON_FORM]: unknown })[JSON_FORM]),
  );
}

function goMessage(message: ChatMessage): Record<string, unknown> {
  return {
    Role: message.role,
    Content: message.content,
    ToolCalls: (message.toolCalls ?? []).map((call, index) => ({
      ID: call.id,
      Function: { Index: index, Name: call.name, Arguments: withJson({ ...call.arguments }, call.arguments) },
    })),
    ToolName: message.toolName ?? "",
    ToolCallID: message.toolCallId ?? "",
    Thinking: message.thinking ?? "",
  };
}

/** Merges consecutive same-role messages (tool results stay separate) and joins system texts. */
function collate(messages: readonly ChatMessage[]): { system: string; messages: ChatMessage[] } {
  const system: string[] = [];
  const out: ChatMessage[] = [];
  for (const message of messages) {
    if (message.role === "system") system.push(message.content);
    const last = out.at(-1);
    if (last && last.role === message.role && message.role !== "tool") {
      out[out.length - 1] = { ...last, content: `${last.content}\n\n${message.content}` };
    } else {
      out.push({ ...message });
    }
  }
  return { system: system.join("\n\n"), messages: out };
}

/** Whether a Go template references `.Suffix` (Ollama's "insert" capability). */
export function goTemplateSupportsInsert(source: string): boolean {
  return parsed(source).fields.has("suffix");
}

export function renderGoInsert(source: string, prompt: string, suffix: string): string {
  return executeGoTemplate(parsed(source).nodes, { Prompt: prompt, Suffix: suffix, Response: "" });
}

/** Renders a chat like Ollama's `Template.Execute`. */
export function renderGoChat(
  source: string,
  messages: readonly ChatMessage[],
  tools?: readonly ToolSpec[],
  /** Extra top-level values (`.Think`, `.ThinkLevel`, `.IsThinkSet`). */
  extra: Record<string, unknown> = {},
): string {
  const { nodes, fields } = parsed(source);
  const collated = collate(messages);
  if (fields.has("messages")) {
    return executeGoTemplate(nodes, {
      ...extra,
      System: collated.system,
      Messages: collated.messages.map(goMessage),
      Tools: goTools(tools),
      Response: "",
    });
  }
  // Legacy templates see one turn at a time; the last turn is cut at `.Response`, which is where
  // the model continues. Templates without `.Response` get it appended, as Ollama does.
  const render = (values: { System: string; Prompt: string; Response: string }, last: boolean) =>
    executeGoTemplate(nodes, values, { stopAtResponse: last }) +
    (fields.has("response") ? "" : values.Response);
  let out = "";
  let turn = { System: "", Prompt: "", Response: "" };
  for (const message of collated.messages) {
    if (message.role === "system") {
      if (turn.Prompt !== "" || turn.Response !== "") {
        out += render(turn, false);
        turn = { System: "", Prompt: "", Response: "" };
      }
      turn.System = message.content;
    } else if (message.role === "user") {
      if (turn.Response !== "") {
        out += render(turn, false);
        turn = { System: "", Prompt: "", Response: "" };
      }
      turn.Prompt = message.content;
    } else if (message.role === "assistant") {
      turn.Response = message.content;
    }
  }
  return out + render(turn, true);
}
