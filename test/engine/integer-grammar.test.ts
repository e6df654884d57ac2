/**
 * JSON-schema integers are digits only: node-llama-cpp's grammar lets a model write `5E86772`
 * for an `integer`, which JSON parsers read as Infinity (src/engine/runner/generate.ts).
 */
import { getLlama, LlamaGrammar } from "node-llama-cpp";
import { expect, it } from "vitest";
import { withoutIntegerExponents } from "../../src/engine/runner/generate.js";

it("drops the exponent from node-llama-cpp's integer rule only, and the grammar still compiles", async () => {
  const llama = await getLlama({ gpu: false, build: "never", maxThreads: 1 });
  const schema = { type: "object", properties: { age: { type: "integer" }, height: { type: "number" } } };
  const original = (await llama.createGrammarForJsonSchema(schema as never)).grammar;
  const rule = (text: string, name: string) => new RegExp(`^${name} ::= (.*)$`, "m").exec(text)?.[1];
  expect(rule(original, "integer-number-rule")).toContain("[eE]");

  const fixed = withoutIntegerExponents(original);
  expect(rule(fixed, "integer-number-rule")).toBe('"-"? ("0" | [1-9] [0-9]{0,15})');
  // Fractions keep theirs: 1.5e3 is a number.
  expect(rule(fixed, "fractional-number-rule")).toBe(rule(original, "fractional-number-rule"));
  expect(() => new LlamaGrammar(llama, { grammar: fixed })).not.toThrow();
});
