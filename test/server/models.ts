import { scriptedModel } from "../support/test-models.js";

/**
 * Models of the /api test files. The tool model uses a Qwen/Hermes-style Jinja template: tools go
 * into a system block and the model answers `<tool_call>{json}</tool_call>`, which the inference
 * service turns into tool calls. Scripts with the same name and pieces share cached GGUF files
 * with other test files.
 */
export const QWEN_TOOLS_TEMPLATE = [
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

export const helloModel = (): Promise<string> => scriptedModel("hello", ["Hello", " world", "!"]);

export const toolModel = (): Promise<string> =>
  scriptedModel(
    "qwen-tool-call",
    ["<tool_call>\n", '{"name": "get_weather", "arguments": {"city": "Paris"}}', "\n</tool_call>"],
    { chatTemplate: QWEN_TOOLS_TEMPLATE },
  );

export const jsonModel = (): Promise<string> => scriptedModel("json-city", ['{"city": "Paris"}']);

/** A model no test installs, so its blob is new to a store (upload tests). */
export const uploadModel = (): Promise<string> => scriptedModel("upload-me", ["Up", "loaded"]);
