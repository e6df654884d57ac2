import { scriptedModel } from "./test-models.js";

/**
 * Scripted models shared by the /api and /v1 test files (each file installs them under its own
 * names). Scripts with the same name and pieces share one cached GGUF file across test files.
 *
 * The tool model uses a Qwen/Hermes-style Jinja template with tool support: the tools go into a
 * system block and the model answers with <tool_call>{json}</tool_call>, the format the
 * inference service turns into tool calls.
 */
const QWEN_TOOLS_TEMPLATE = [
  "{%- if tools %}<|im_start|>system\n# Tools\n\nYou may call one or more functions.\n<tools>",
  "{%- for tool in tools %}\n{{ tool | tojson }}{%- endfor %}\n</tools>\n",
  'Return each call as <tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n',
  "{%- endif %}",
  "{%- for message in messages %}",
  "{%- if message.role == 'tool' %}<|im_start|>user\n<tool_response>\n{{ message.content }}\n</tool_response><|im_end|>\n",
  "{%- else %}<|im_start|>{{ message.role }}\n{{ message.content }}",
  "{%- if message.tool_calls %}{%- for call in message.tool_calls %}\n<tool_call>\n",
  '{"name": "{{ call.function.name }}", "arguments": {{ call.function.arguments | tojson }}}\n</tool_call>',
  "{%- endfor %}{%- endif %}<|im_end|>\n{%- endif %}",
  "{%- endfor %}",
  "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}",
].join("");

export const HELLO_SCRIPT = ["Hello", " world", "!"];
const TOOL_SCRIPT = [
  "<tool_call>\n",
  '{"name": "get_weather", "arguments": {"city": "Paris"}}',
  "\n</tool_call>",
];
/** The tool TOOL_SCRIPT calls, in the shape the Ollama and OpenAI wires share. */
export const WEATHER_TOOL = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const JSON_SCRIPT = ['{"city": "Paris"}'];

export const helloModel = (): Promise<string> => scriptedModel("hello", HELLO_SCRIPT);
export const toolModel = (): Promise<string> =>
  scriptedModel("qwen-tool-call", TOOL_SCRIPT, { chatTemplate: QWEN_TOOLS_TEMPLATE });
export const jsonModel = (): Promise<string> => scriptedModel("json-city", JSON_SCRIPT);

/** 400 distinct pieces: long enough that a stream is still generating when the client leaves. */
export const LONG_SCRIPT = Array.from({ length: 400 }, (_, i) => ` w${i}`);
export const longModel = (): Promise<string> => scriptedModel("long-400", LONG_SCRIPT);

/** A model no test installs, so its blob is new to a store (upload tests). */
export const uploadModel = (): Promise<string> => scriptedModel("upload-me", ["Up", "loaded"]);

/**
 * Qwen3-style thinking: the model opens its answer with <think>…</think>; the template drops past
 * answers' reasoning (split at </think>) and, with `enable_thinking` false, writes an empty think
 * block into the generation prompt so the model skips it.
 */
const QWEN3_THINKING_TEMPLATE = [
  "{%- for message in messages %}",
  "{%- if message.role == 'assistant' %}{%- set content = message.content %}",
  "{%- if '</think>' in content %}{%- set content = content.split('</think>')[-1].lstrip('\\n') %}{%- endif %}",
  "<|im_start|>assistant\n{{ content }}<|im_end|>\n",
  "{%- else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{%- endif %}",
  "{%- endfor %}",
  "{%- if add_generation_prompt %}<|im_start|>assistant\n",
  "{%- if enable_thinking is defined and enable_thinking is false %}<think>\n\n</think>\n\n{%- endif %}",
  "{%- endif %}",
].join("");
export const QWEN3_THINKING = "Weighing options";
export const QWEN3_ANSWER = "Hello there";
const QWEN3_SCRIPT = ["<think>", "\nWeighing", " options", "\n</think>", "\n\nHello", " there"];
export const qwen3ThinkingModel = (): Promise<string> =>
  scriptedModel("qwen3-thinking", QWEN3_SCRIPT, { chatTemplate: QWEN3_THINKING_TEMPLATE });

/**
 * DeepSeek-R1-style thinking: the generation prompt itself ends with "<think>\n", so the model's
 * output starts inside the reasoning and only the closing tag appears in it.
 */
const R1_THINKING_TEMPLATE = [
  "{%- for message in messages %}",
  "{%- if message.role == 'assistant' %}{%- set content = message.content %}",
  "{%- if '</think>' in content %}{%- set content = content.split('</think>')[-1] %}{%- endif %}",
  "<|im_start|>assistant\n{{ content }}<|im_end|>\n",
  "{%- else %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{%- endif %}",
  "{%- endfor %}",
  "{%- if add_generation_prompt %}<|im_start|>assistant\n<think>\n{%- endif %}",
].join("");
export const R1_THINKING = "Reasoning first";
export const R1_ANSWER = "Answer here";
const R1_SCRIPT = ["Reasoning", " first", "</think>", "\n\nAnswer", " here"];
export const r1ThinkingModel = (): Promise<string> =>
  scriptedModel("r1-thinking", R1_SCRIPT, { chatTemplate: R1_THINKING_TEMPLATE });

/**
 * Thinking models that reason in free text, then answer JSON (a piece the JSON and schema grammars
 * accept whole): with a `format`, reasoning the grammar constrained would not follow the script.
 * No whitespace piece after the closing tag, since a JSON grammar may refuse leading whitespace.
 */
export const THINKING_JSON = { a: "Answer" };
const THINKING_JSON_PIECE = '{"a": "Answer"}';
export const r1JsonModel = (): Promise<string> =>
  scriptedModel("r1-json", ["Reasoning", " first", "</think>", THINKING_JSON_PIECE], {
    chatTemplate: R1_THINKING_TEMPLATE,
  });
/** The same with the closing tag cut in two pieces, as a tokenizer without a token for it writes it. */
export const r1SplitTagJsonModel = (): Promise<string> =>
  scriptedModel("r1-json-split-tag", ["Reasoning", " first", "</", "think>", THINKING_JSON_PIECE], {
    chatTemplate: R1_THINKING_TEMPLATE,
  });
export const qwen3JsonModel = (): Promise<string> =>
  scriptedModel("qwen3-json", ["<think>", "\nWeighing", " options", "\n</think>", THINKING_JSON_PIECE], {
    chatTemplate: QWEN3_THINKING_TEMPLATE,
  });

/**
 * R1-style and endless: reasons "Plan", then answers "La", then (looping, so inside the answer now)
 * "Plan</think>\n\nLa" again and again until stopped: a stream that is past its reasoning and
 * still going, for re-attach and stop tests.
 */
export const R1_LOOP_THINKING = "Plan";
export const r1LoopModel = (): Promise<string> =>
  scriptedModel("r1-thinking-loop", ["Plan", "</think>", "\n\nLa"], {
    chatTemplate: R1_THINKING_TEMPLATE,
    loop: true,
    contextLength: 8192,
  });

/**
 * R1-style and endless inside its reasoning: the closing tag never comes, so the reasoning streams
 * ("Pondering deeply still Pondering…") until stopped, for what a page shows while a model thinks.
 */
export const R1_PONDER_THINKING = "Pondering deeply still";
export const r1PonderModel = (): Promise<string> =>
  scriptedModel("r1-ponder", ["Pondering", " deeply", " still"], {
    chatTemplate: R1_THINKING_TEMPLATE,
    loop: true,
    contextLength: 8192,
  });

/** Model output that must render as text: each piece is markup that would run if it were HTML. */
export const HOSTILE = [
  "<img src=x onerror=alert(1)>",
  " <svg onload=alert(1)>",
  " [x](javascript:alert(1))",
  " </script><script>alert(1)</script>",
];
export const hostileModel = (): Promise<string> => scriptedModel("hostile-demo", HOSTILE);

/** A heading, bold and inline code, a fenced code block and a table. */
export const markdownModel = (): Promise<string> =>
  scriptedModel("markdown-demo", [
    "## Plan\n\n",
    "Use **bold** and `inline code`.\n\n",
    '```python\nprint("hi")\n```\n\n',
    "| Model | Size |\n|---|---|\n| tiny | 1 MB |\n",
  ]);

/**
 * A template that writes the system prompt after the generation prompt, so the prompt's last
 * token is the system prompt's: with the system prompt "@" (one character, so one token) the
 * model answers " Beta Gamma", without it "@ Beta Gamma". The answer shows whether the prompt
 * the server ran held it.
 */
const SYSTEM_LAST_TEMPLATE = [
  "{%- for m in messages %}{%- if m.role != 'system' %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{%- endif %}{%- endfor %}",
  "<|im_start|>assistant\n",
  "{%- for m in messages %}{%- if m.role == 'system' %}{{ m.content }}{%- endif %}{%- endfor %}",
].join("");
const SYSTEM_LAST_SCRIPT = ["@", " Beta", " Gamma"];
export const systemLastModel = (): Promise<string> =>
  scriptedModel("system-last", SYSTEM_LAST_SCRIPT, { chatTemplate: SYSTEM_LAST_TEMPLATE });
