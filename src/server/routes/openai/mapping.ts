import type { ChatCompletionRequest, ChatMessageWire, ContentPart } from "../../../api/openai/chat.js";
import type { CompletionRequestWire } from "../../../api/openai/completions.js";
import type {
  ChatMessage,
  ChatRequest,
  CompletionRequest,
  ThinkSetting,
  ToolCall,
  ToolChoice,
  ToolSpec,
} from "../../../engine/inference/types.js";
import type { OutputFormat, SamplingOptions } from "../../../engine/types.js";
import { invalid, unsupported } from "./validate.js";

/** Fields shared by chat and completion requests, OpenAI spelling. */
interface SamplingWire {
  temperature?: number | null;
  top_p?: number | null;
  max_tokens?: number | null;
  seed?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
}

/** Maps OpenAI's sampling fields. Exported for tests and for the completions route. */
function toSampling(wire: SamplingWire, maxTokens?: number | null): SamplingOptions {
  if (wire.n != null && wire.n !== 1) unsupported("only n=1 is supported (one choice per request)", "n");
  const sampling: SamplingOptions = {
    // OpenAI documents temperature 1 and top_p 1 as the defaults; Ollama's /v1 layer sends them
    // explicitly too, so a client sees OpenAI's behaviour rather than the model's tuned defaults.
    temperature: wire.temperature ?? 1,
    topP: wire.top_p ?? 1,
  };
  const max = maxTokens ?? wire.max_tokens;
  if (max != null) sampling.maxTokens = max;
  if (wire.seed != null) sampling.seed = wire.seed;
  if (wire.frequency_penalty != null) sampling.frequencyPenalty = wire.frequency_penalty;
  if (wire.presence_penalty != null) sampling.presencePenalty = wire.presence_penalty;
  if (wire.stop != null) {
    // An empty stop string would end generation at once; OpenAI ignores it, so do we.
    const stops = (typeof wire.stop === "string" ? [wire.stop] : wire.stop).filter((s) => s !== "");
    if (stops.length > 0) sampling.stop = stops;
  }
  return sampling;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** `data:image/png;base64,...` → the base64 payload. Remote URLs are refused: no fetching (SSRF). */
function imageFromUrl(url: string, param: string): string {
  const match = /^data:([^;,]*);base64,(.*)$/s.exec(url);
  if (match === null) {
    if (/^https?:\/\//i.test(url)) {
      unsupported("image URLs are not supported; send the image as a base64 data: URL", param);
    }
    invalid("image_url must be a base64 data: URL", param);
  }
  const mime = match[1] ?? "";
  const data = (match[2] ?? "").replace(/\s+/g, "");
  if ((mime !== "" && !mime.startsWith("image/")) || data === "" || !BASE64.test(data)) {
    invalid("image_url is not a base64-encoded image", param);
  }
  return data;
}

function contentOf(
  content: string | ContentPart[] | null | undefined,
  param: string,
): { text: string; images: string[] } {
  if (content == null) return { text: "", images: [] };
  if (typeof content === "string") return { text: content, images: [] };
  const texts: string[] = [];
  const images: string[] = [];
  content.forEach((part, j) => {
    if (part.type === "text") texts.push(part.text);
    else {
      const url = typeof part.image_url === "string" ? part.image_url : part.image_url.url;
      images.push(imageFromUrl(url, `${param}[${j}].image_url`));
    }
  });
  return { text: texts.join("\n"), images };
}

function parseArguments(text: string, param: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch {
    invalid("tool call arguments must be a JSON object string", param);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    invalid("tool call arguments must be a JSON object string", param);
  }
  return value as Record<string, unknown>;
}

function toMessages(wire: ChatMessageWire[]): ChatMessage[] {
  // Tool results name their call by id; templates want the tool's name, so remember it.
  const nameById = new Map<string, string>();
  return wire.map((m, i) => {
    const { text, images } = contentOf(m.content, `messages[${i}].content`);
    const role = m.role === "developer" ? "system" : m.role;
    const message: ChatMessage = { role, content: text };
    if (images.length > 0) message.images = images;
    const reasoning = m.reasoning_content ?? m.reasoning;
    if (m.role === "assistant" && reasoning) message.thinking = reasoning;
    if (m.role === "assistant" && m.tool_calls != null && m.tool_calls.length > 0) {
      message.toolCalls = m.tool_calls.map((call, k): ToolCall => {
        const id = call.id ?? `call_${i}_${k}`;
        nameById.set(id, call.function.name);
        return {
          id,
          name: call.function.name,
          arguments: parseArguments(
            call.function.arguments,
            `messages[${i}].tool_calls[${k}].function.arguments`,
          ),
        };
      });
    } else if (m.content == null) {
      invalid("content is required", `messages[${i}].content`);
    }
    if (m.role === "tool") {
      if (m.tool_call_id != null) message.toolCallId = m.tool_call_id;
      const name = m.name ?? (m.tool_call_id == null ? undefined : nameById.get(m.tool_call_id));
      if (name !== undefined) message.toolName = name;
    }
    return message;
  });
}

function toTools(wire: ChatCompletionRequest): { tools?: ToolSpec[]; toolChoice?: ToolChoice } {
  const tools = (wire.tools ?? []).map((t): ToolSpec => {
    const spec: ToolSpec = { name: t.function.name };
    if (t.function.description != null) spec.description = t.function.description;
    if (t.function.parameters != null) spec.parameters = t.function.parameters;
    return spec;
  });
  const choice = wire.tool_choice;
  if (choice == null) return tools.length > 0 ? { tools } : {};
  if (typeof choice !== "string") {
    if (!tools.some((t) => t.name === choice.function.name)) {
      invalid(`tool_choice names a tool not in tools: ${choice.function.name}`, "tool_choice");
    }
    return { tools, toolChoice: { name: choice.function.name } };
  }
  if (choice === "required" && tools.length === 0)
    invalid("tool_choice is required but no tools are given", "tool_choice");
  return tools.length > 0 ? { tools, toolChoice: choice } : {};
}

function toFormat(wire: ChatCompletionRequest): OutputFormat | undefined {
  const format = wire.response_format;
  if (format == null) return undefined;
  switch (format.type) {
    case "text":
      return undefined;
    case "json_object":
      return { type: "json" };
    case "json_schema":
      // A json_schema without a schema still promises JSON; constrain to any JSON value.
      return format.json_schema.schema == null
        ? { type: "json" }
        : { type: "json_schema", schema: format.json_schema.schema };
  }
}

/** OpenAI's effort names → `think`, as Ollama maps them (openai/openai.go); absent → model default. */
function toThink(wire: ChatCompletionRequest): ThinkSetting | undefined {
  const param = wire.reasoning?.effort != null ? "reasoning.effort" : "reasoning_effort";
  const effort = wire.reasoning?.effort ?? wire.reasoning_effort;
  switch (effort) {
    case null:
    case undefined:
    case "":
      return undefined;
    case "none":
      return false;
    case "minimal":
      return "low";
    case "low":
    case "medium":
    case "high":
      return effort;
    case "max":
    case "xhigh":
    case "ultra":
      return "high";
    default:
      invalid(
        `invalid reasoning value: ${JSON.stringify(effort)} (must be "minimal", "low", "medium", "high", "xhigh", "ultra", "max", or "none")`,
        param,
      );
  }
}

/** OpenAI chat request → the internal ChatRequest. */
export function toChatRequest(wire: ChatCompletionRequest, signal: AbortSignal): ChatRequest {
  if (wire.logprobs === true) unsupported("logprobs are not supported", "logprobs");
  const request: ChatRequest = {
    model: wire.model,
    messages: toMessages(wire.messages),
    sampling: toSampling(wire, wire.max_completion_tokens),
    load: {},
    signal,
    ...toTools(wire),
  };
  const think = toThink(wire);
  if (think !== undefined) request.think = think;
  const format = toFormat(wire);
  if (format !== undefined) request.format = format;
  return request;
}

/** OpenAI completion request → the internal CompletionRequest. */
export function toCompletionRequest(wire: CompletionRequestWire, signal: AbortSignal): CompletionRequest {
  if (wire.echo === true) unsupported("echo is not supported", "echo");
  if (wire.best_of != null && wire.best_of !== 1) unsupported("only best_of=1 is supported", "best_of");
  if (wire.logprobs != null && wire.logprobs > 0) unsupported("logprobs are not supported", "logprobs");
  let prompt: string;
  if (typeof wire.prompt === "string") prompt = wire.prompt;
  else if (wire.prompt.length === 1 && wire.prompt[0] !== undefined) prompt = wire.prompt[0];
  else unsupported("exactly one prompt per request is supported", "prompt");
  const request: CompletionRequest = {
    model: wire.model,
    prompt,
    // A plain completion continues the text as given. With a suffix the model's template is what
    // knows its fill-in-the-middle tokens, so that case goes through the template.
    raw: wire.suffix == null,
    sampling: toSampling(wire),
    load: {},
    signal,
  };
  if (wire.suffix != null) request.suffix = wire.suffix;
  return request;
}
