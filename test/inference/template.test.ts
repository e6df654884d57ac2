import { describe, expect, it } from "vitest";
import {
  FALLBACK_TEMPLATE,
  isGoTemplate,
  MAX_TEMPLATE_BYTES,
  renderChatTemplate,
  renderInsertTemplate,
  templateSupportsInsert,
} from "../../src/engine/inference/template.js";
import type { ChatMessage } from "../../src/engine/inference/types.js";
import { CHATML_TEMPLATE } from "../support/test-models.js";
import { QWEN_TOOL_TEMPLATE, WEATHER_TOOL } from "./fixtures.js";
import { thrownAppError } from "../support/app-error.js";

const TOKENS = { bosToken: "<s>", eosToken: "</s>" };

function render(template: string, messages: ChatMessage[], tools?: (typeof WEATHER_TOOL)[]): string {
  return renderChatTemplate(template, { messages, tools, ...TOKENS });
}

// Ollama's template/testdata conversation and expected renderings (system-user-assistant-user).
const OLLAMA_CONVERSATION: ChatMessage[] = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "Hello, how are you?" },
  { role: "assistant", content: "I'm doing great. How can I help you today?" },
  { role: "user", content: "I'd like to show off how chat templating works!" },
];

describe("Jinja chat templates", () => {
  it("renders ChatML system/user/assistant/tool turns and the generation prompt", () => {
    const prompt = render(CHATML_TEMPLATE, [
      { role: "system", content: "Be brief." },
      { role: "user", content: "Weather?" },
      { role: "assistant", content: "Checking." },
      { role: "tool", content: '{"temp": 21}', toolName: "get_weather" },
    ]);
    expect(prompt).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n" +
        "<|im_start|>user\nWeather?<|im_end|>\n" +
        "<|im_start|>assistant\nChecking.<|im_end|>\n" +
        '<|im_start|>tool\n{"temp": 21}<|im_end|>\n' +
        "<|im_start|>assistant\n",
    );
  });

  it("renders tools, earlier calls and tool results in a Qwen-style template", () => {
    const prompt = render(
      QWEN_TOOL_TEMPLATE,
      [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: "call_1", name: "get_weather", arguments: { city: "Paris" } }],
        },
        { role: "tool", content: "21C", toolCallId: "call_1" },
      ],
      [WEATHER_TOOL],
    );
    expect(prompt).toContain("You are a helpful assistant.\n\n# Tools");
    expect(prompt).toContain(
      '<tools>\n{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city", ' +
        '"parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}}, "required": ["city"]}}}\n</tools>',
    );
    expect(prompt).toContain(
      '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call><|im_end|>',
    );
    expect(prompt).toContain("<|im_start|>user\n<tool_response>\n21C\n</tool_response><|im_end|>");
    expect(prompt.endsWith("<|im_start|>assistant\n")).toBe(true);

    const withoutTools = render(QWEN_TOOL_TEMPLATE, [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: "Bye" },
    ]);
    expect(withoutTools).toBe(
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("exposes bos/eos tokens and strftime_now", () => {
    const out = render("{{ bos_token }}[{{ strftime_now('%Y') }}]{{ messages[0].content }}{{ eos_token }}", [
      { role: "user", content: "x" },
    ]);
    expect(out).toBe(`<s>[${new Date().getFullYear()}]x</s>`);
  });

  it("turns raise_exception, syntax errors and runaway loops into invalid_request", () => {
    const raised = thrownAppError(() =>
      render(
        "{% if messages[0].role != 'system' %}{{ raise_exception('first message must be system') }}{% endif %}",
        [{ role: "user", content: "x" }],
      ),
    );
    expect(raised.code).toBe("invalid_request");
    expect(raised.message).toBe("template error: first message must be system");

    expect(thrownAppError(() => render("{% if %}", [])).message).toMatch(/^template error: /);
    const loop = thrownAppError(() =>
      render("{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}", []),
    );
    expect(loop.code).toBe("invalid_request");
    expect(thrownAppError(() => render(`{# ${"x".repeat(MAX_TEMPLATE_BYTES)} #}`, [])).code).toBe(
      "invalid_request",
    );
  });

  it("gives templates no way to reach JavaScript globals", () => {
    const out = render(
      "[{{ process }}][{{ globalThis }}][{{ messages.constructor }}][{{ ''.constructor }}][{{ require }}]",
      [{ role: "user", content: "x" }],
    );
    expect(out).not.toMatch(/function|native|Object|process/);
  });
});

describe("Ollama Go templates", () => {
  it("detects Go template syntax", () => {
    expect(isGoTemplate("{{ .Prompt }}")).toBe(true);
    expect(isGoTemplate("{{- range .Messages }}{{ .Content }}{{ end }}")).toBe(true);
    expect(isGoTemplate(CHATML_TEMPLATE)).toBe(false);
    expect(isGoTemplate("{{ messages[0].content }}")).toBe(false);
    expect(isGoTemplate(FALLBACK_TEMPLATE)).toBe(true);
    // Template layers are Ollama's (Go) unless they show Jinja-only syntax.
    expect(isGoTemplate("{{ nosuchfunc }}", "ollama")).toBe(true);
    expect(isGoTemplate("{{ nosuchfunc }}", "gguf")).toBe(false);
    expect(isGoTemplate("{{ messages[0].content }}", "ollama")).toBe(false);
    expect(isGoTemplate("{{ message.content | trim }}", "ollama")).toBe(false);
  });

  it.each([
    [
      "chatml",
      "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n",
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello, how are you?<|im_end|>\n<|im_start|>assistant\nI'm doing great. How can I help you today?<|im_end|>\n<|im_start|>user\nI'd like to show off how chat templating works!<|im_end|>\n<|im_start|>assistant\n",
    ],
    [
      "mistral-instruct",
      '[INST] {{ range $index, $_ := .Messages }}\n{{- if eq .Role "system" }}{{ .Content }}\n\n{{ else if eq .Role "user" }}{{ .Content }}[/INST]\n{{- else if eq .Role "assistant" }} {{ .Content }}</s>[INST] {{ end }}\n{{- end }}',
      "[INST] You are a helpful assistant.\n\nHello, how are you?[/INST] I'm doing great. How can I help you today?</s>[INST] I'd like to show off how chat templating works![/INST]",
    ],
    [
      "gemma3-instruct",
      '{{- range $i, $_ := .Messages }}\n{{- $last := eq (len (slice $.Messages $i)) 1 }}\n{{- if eq .Role "user" }}<start_of_turn>user\n{{- if and (eq $i 1) $.System }}\n{{ $.System }}\n{{ end }}\n{{ .Content }}<end_of_turn>\n{{ else if eq .Role "assistant" }}<start_of_turn>model\n{{ .Content }}<end_of_turn>\n{{ end }}\n{{- if $last }}<start_of_turn>model\n{{ end }}\n{{- end }}\n',
      "<start_of_turn>user\nYou are a helpful assistant.\n\nHello, how are you?<end_of_turn>\n<start_of_turn>model\nI'm doing great. How can I help you today?<end_of_turn>\n<start_of_turn>user\nI'd like to show off how chat templating works!<end_of_turn>\n<start_of_turn>model\n\n",
    ],
    [
      "llama2-chat",
      '{{- $system := "" }}[INST] {{ range .Messages }}\n{{- if eq .Role "system" }}\n{{- if not $system }}{{ $system = .Content }}\n{{- else }}{{ $system = printf "%s\\n\\n%s" $system .Content }}\n{{- end }}\n{{- else if eq .Role "user" }}<<SYS>>\n{{- if $system }}\n{{ $system }}\n{{ $system = "" }}\n{{- end }}<</SYS>>\n\n{{ .Content }} [/INST]\n{{- else if eq .Role "assistant" }} {{ .Content }}</s><s>[INST] {{ end }}\n{{- end }}',
      "[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello, how are you? [/INST] I'm doing great. How can I help you today?</s><s>[INST] <<SYS>><</SYS>>\n\nI'd like to show off how chat templating works! [/INST]",
    ],
  ])("renders Ollama's %s template like Ollama", (_name, template, expected) => {
    expect(render(template, OLLAMA_CONVERSATION)).toBe(expected);
  });

  // Ollama's template_test.go: legacy .Prompt/.Response templates render the same as .Messages ones.
  const FRIENDS: ChatMessage[] = [
    { role: "system", content: "You are a helpful assistant!" },
    { role: "user", content: "Hello friend!" },
    { role: "assistant", content: "Hello human!" },
    { role: "user", content: "What is your name?" },
  ];
  it.each([
    ["no response", "[INST] {{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}[/INST] "],
    ["response", "[INST] {{ if .System }}{{ .System }}\n\n{{ end }}{{ .Prompt }}[/INST] {{ .Response }}"],
    [
      "messages",
      '[INST] {{ if .System }}{{ .System }}\n\n{{ end }}\n{{- range .Messages }}\n{{- if eq .Role "user" }}{{ .Content }}[/INST] {{ else if eq .Role "assistant" }}{{ .Content }}[INST] {{ end }}\n{{- end }}',
    ],
  ])("renders legacy and message templates alike (%s)", (_name, template) => {
    expect(render(template, FRIENDS)).toBe(
      "[INST] You are a helpful assistant!\n\nHello friend![/INST] Hello human![INST] What is your name?[/INST] ",
    );
  });

  it("continues a trailing assistant message in legacy templates", () => {
    const out = render("[INST] {{ .Prompt }}[/INST] {{ .Response }}", [
      { role: "user", content: "Hello friend!" },
      { role: "assistant", content: "Hello human!" },
      { role: "user", content: "What is your name?" },
      { role: "assistant", content: "My name is Ollama and I" },
    ]);
    expect(out).toBe(
      "[INST] Hello friend![/INST] Hello human![INST] What is your name?[/INST] My name is Ollama and I",
    );
  });

  it("renders .Tools, tool properties and earlier tool calls", () => {
    const template =
      "{{ if .Tools }}TOOLS {{ json .Tools }}\n{{ range .Tools }}{{ .Function.Name }}(" +
      "{{ range $name, $p := .Function.Parameters.Properties }}{{ $name }}: {{ $p.Type }} - {{ $p.Description }}{{ end }})\n{{ end }}{{ end }}" +
      '{{ range .Messages }}{{ if eq .Role "assistant" }}{{ range .ToolCalls }}CALL {{ .Function.Name }} {{ .Function.Arguments }}{{ end }}' +
      '{{ else if eq .Role "tool" }}RESULT {{ .Content }}{{ else }}{{ .Role }}: {{ .Content }}{{ end }}\n{{ end }}';
    const out = render(
      template,
      [
        { role: "user", content: "Weather?" },
        {
          role: "assistant",
          content: "",
          toolCalls: [{ id: "c1", name: "get_weather", arguments: { city: "Paris" } }],
        },
        { role: "tool", content: "21C", toolName: "get_weather" },
      ],
      [WEATHER_TOOL],
    );
    expect(out).toBe(
      `TOOLS ${JSON.stringify([{ type: "function", function: WEATHER_TOOL }])}\n` +
        "get_weather(city: string - City name)\n" +
        "user: Weather?\n" +
        'CALL get_weather {"city":"Paris"}\n' +
        "RESULT 21C\n",
    );
    expect(render("{{ if .Tools }}T{{ else }}none{{ end }}", [{ role: "user", content: "x" }])).toBe("none");
  });

  it("supports break, continue, with, or, ne, index and comments", () => {
    const out = render(
      "{{/* a comment */}}{{ range $i, $m := .Messages }}{{ if eq $i 2 }}{{ break }}{{ end }}" +
        '{{ if ne .Role "user" }}{{ continue }}{{ end }}{{ .Content }};{{ end }}' +
        "{{ with .System }}[{{ . }}]{{ else }}[no system]{{ end }}{{ or .Missing `dflt` }}{{ (index .Messages 0).Role }}",
      [
        { role: "user", content: "a" },
        { role: "assistant", content: "b" },
        { role: "user", content: "c" },
      ],
    );
    expect(out).toBe("a;[no system]dfltuser");
  });

  it("reports Go template errors as invalid_request", () => {
    for (const bad of [
      "{{ if .Prompt }}never closed",
      "{{ end }}",
      '{{ define "x" }}{{ end }}',
      "{{ nosuchfunc 1 }}",
    ]) {
      const error = thrownAppError(() => render(bad, [{ role: "user", content: "x" }]));
      expect(error.code).toBe("invalid_request");
      expect(error.message).toMatch(/^template error: /);
    }
  });

  it("knows which templates support insert and renders them", () => {
    const fim = "<PRE> {{ .Prompt }} <SUF>{{ .Suffix }} <MID>";
    expect(templateSupportsInsert(fim)).toBe(true);
    expect(templateSupportsInsert(CHATML_TEMPLATE)).toBe(false);
    expect(templateSupportsInsert("{{ .Prompt }}")).toBe(false);
    expect(renderInsertTemplate(fim, { prompt: "def f(", suffix: "return x", ...TOKENS })).toBe(
      "<PRE> def f( <SUF>return x <MID>",
    );
  });

  it("falls back to plain text for models without a template", () => {
    expect(
      render(FALLBACK_TEMPLATE, [
        { role: "system", content: "S" },
        { role: "user", content: "Hello" },
      ]),
    ).toBe("S\n\nHello");
  });
});
