import { describe, expect, it } from "vitest";
import {
  createToolCallStream,
  parseToolCalls,
  scanJsonValue,
} from "../../src/engine/inference/tool-calls.js";
import type { ToolCall } from "../../src/engine/inference/types.js";

const TOOLS = ["get_weather", "get_time"];

const withoutIds = (calls: ToolCall[]) =>
  calls.map(({ name, arguments: args }) => ({ name, arguments: args }));

/** Streams `output` in chunks of the given sizes (cycled) and collects what the consumer sees. */
function stream(output: string, sizes: number[]) {
  const detector = createToolCallStream(TOOLS);
  let text = "";
  let at = 0;
  for (let k = 0; at < output.length; k++) {
    const size = sizes[k % sizes.length] ?? 1;
    text += detector.push(output.slice(at, at + size));
    at += size;
  }
  const tail = detector.finish();
  return { text: text + tail.text, calls: withoutIds(tail.calls) };
}

const OUTPUTS = [
  '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
  'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n<tool_call>\n{"name": "get_time", "arguments": {"zone": "CET"}}\n</tool_call>',
  '  {"name": "get_weather", "parameters": {"city": "Oslo"}}',
  '[{"name": "get_weather", "arguments": {"city": "Rome"}}, {"name": "get_time", "arguments": {}}]',
  '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Lima"}}]',
  '[TOOL_CALLS]get_weather[ARGS]{"city": "Kyiv"}',
  "Plain answer with a < sign and [brackets] and {braces}.",
  '{"answer": 42}',
  "[1, 2, 3] are numbers",
  "<tool_call>{not json}</tool_call>",
  'Text first <tool_call>{"name":"get_weather","arguments":{"city":"Bern"}}',
  "<tool_",
  "",
];

describe("parseToolCalls", () => {
  it("parses Hermes/Qwen tags, one or more, keeping text around them", () => {
    const one = parseToolCalls(OUTPUTS[0] as string);
    expect(one.text).toBe("");
    expect(withoutIds(one.calls)).toEqual([{ name: "get_weather", arguments: { city: "Paris" } }]);
    expect(one.calls[0]?.id).toMatch(/^call_[0-9a-f]{18}$/);

    const two = parseToolCalls(OUTPUTS[1] as string);
    expect(two.text).toBe("Let me check.\n");
    expect(two.calls.map((c) => c.name)).toEqual(["get_weather", "get_time"]);
    expect(two.calls[0]?.id).not.toBe(two.calls[1]?.id);
  });

  it("accepts a final call whose closing tag never came", () => {
    const parsed = parseToolCalls('<tool_call>{"name":"get_time","arguments":{"zone":"UTC"}}');
    expect(withoutIds(parsed.calls)).toEqual([{ name: "get_time", arguments: { zone: "UTC" } }]);
  });

  it("parses bare JSON calls (Llama 3 style) only when the whole output is known tools", () => {
    expect(withoutIds(parseToolCalls(OUTPUTS[2] as string, TOOLS).calls)).toEqual([
      { name: "get_weather", arguments: { city: "Oslo" } },
    ]);
    expect(parseToolCalls(OUTPUTS[3] as string, TOOLS).calls.map((c) => c.name)).toEqual([
      "get_weather",
      "get_time",
    ]);
    const unknown = parseToolCalls('{"name": "Bob", "arguments": {"age": 3}}', TOOLS);
    expect(unknown).toEqual({ text: '{"name": "Bob", "arguments": {"age": 3}}', calls: [] });
  });

  it("parses Mistral [TOOL_CALLS] in both its array and [ARGS] forms", () => {
    expect(withoutIds(parseToolCalls(OUTPUTS[4] as string).calls)).toEqual([
      { name: "get_weather", arguments: { city: "Lima" } },
    ]);
    expect(withoutIds(parseToolCalls(OUTPUTS[5] as string).calls)).toEqual([
      { name: "get_weather", arguments: { city: "Kyiv" } },
    ]);
  });

  it("accepts OpenAI-shaped calls with string arguments and keeps their id", () => {
    const parsed = parseToolCalls(
      '<tool_call>{"id":"call_x1","type":"function","function":{"name":"get_time","arguments":"{\\"zone\\":\\"UTC\\"}"}}</tool_call>',
    );
    expect(parsed.calls).toEqual([{ id: "call_x1", name: "get_time", arguments: { zone: "UTC" } }]);
  });

  it("returns unparseable call text as plain text", () => {
    expect(parseToolCalls("<tool_call>{not json}</tool_call>")).toEqual({
      text: "<tool_call>{not json}</tool_call>",
      calls: [],
    });
    expect(parseToolCalls("[TOOL_CALLS] nonsense")).toEqual({ text: "[TOOL_CALLS] nonsense", calls: [] });
    expect(parseToolCalls('<tool_call>{"arguments": {}}</tool_call>').calls).toEqual([]);
  });

  it("scans JSON values with nested strings and brackets", () => {
    const text = ' {"a": "}]\\"", "b": [1, {"c": 2}]} tail';
    expect(text.slice(0, scanJsonValue(text, 0))).toBe(' {"a": "}]\\"", "b": [1, {"c": 2}]}');
    expect(scanJsonValue('{"open": ', 0)).toBe(-1);
  });
});

describe("createToolCallStream", () => {
  it.each(OUTPUTS.map((o) => [o]))("gives the same result in any chunking: %j", (output) => {
    const whole = stream(output, [output.length || 1]);
    expect(stream(output, [1])).toEqual(whole);
    expect(stream(output, [2, 5, 1, 7, 3])).toEqual(whole);
    expect(whole).toEqual({
      text: parseToolCalls(output, TOOLS).text,
      calls: withoutIds(parseToolCalls(output, TOOLS).calls),
    });
  });

  it("lets plain text through as it arrives", () => {
    const detector = createToolCallStream(TOOLS);
    expect(detector.push("Hello")).toBe("Hello");
    expect(detector.push(" there <")).toBe(" there ");
    expect(detector.push("b>")).toBe("<b>");
    expect(detector.finish()).toEqual({ text: "", calls: [] });
  });

  it("shows text before a call at once and holds the call back until the end", () => {
    const detector = createToolCallStream(TOOLS);
    expect(detector.push("Checking. <tool")).toBe("Checking. ");
    expect(detector.push('_call>{"name":"get_time",')).toBe("");
    expect(detector.push('"arguments":{}}</tool_call>')).toBe("");
    const tail = detector.finish();
    expect(tail.text).toBe("");
    expect(withoutIds(tail.calls)).toEqual([{ name: "get_time", arguments: {} }]);
  });

  it("stops holding back once leading JSON cannot be a call", () => {
    const detector = createToolCallStream(TOOLS);
    expect(detector.push("{")).toBe("");
    expect(detector.push(" 1")).toBe("{ 1");
    expect(detector.push("} ok")).toBe("} ok");
  });
});
