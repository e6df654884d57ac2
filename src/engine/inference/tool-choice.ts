import { AppError } from "../../errors.js";
import type { OutputFormat } from "../types.js";
import type { ToolChoice, ToolSpec } from "./types.js";

/**
 * Tool choice: which tools the template sees, and for a forced choice ("required" or a named
 * tool) the JSON-schema grammar that makes the model's output a call.
 */

export interface ToolPlan {
  /** Tools rendered into the prompt. */
  offered: ToolSpec[];
  /** Tools the output may call: the grammar's choice when forced, else every offered tool. */
  callable: ToolSpec[];
  /** The output must be exactly one call `{name, arguments}`. */
  forced: boolean;
}

export function planTools(tools: readonly ToolSpec[] | undefined, choice: ToolChoice | undefined): ToolPlan {
  const all = [...(tools ?? [])];
  const selected = choice ?? "auto";
  if (selected === "none") return { offered: [], callable: [], forced: false };
  if (selected === "auto") return { offered: all, callable: all, forced: false };
  if (all.length === 0) {
    throw new AppError("invalid_request", "tool_choice requires tools", { param: "tool_choice" });
  }
  if (selected === "required") return { offered: all, callable: all, forced: true };
  const named = all.filter((tool) => tool.name === selected.name);
  if (named.length === 0) {
    throw new AppError(
      "invalid_request",
      `tool_choice names an unknown tool: ${JSON.stringify(selected.name)}`,
      {
        param: "tool_choice",
      },
    );
  }
  return { offered: all, callable: named, forced: true };
}

function argumentsSchema(tool: ToolSpec): Record<string, unknown> {
  const params = tool.parameters;
  if (!params || Object.keys(params).length === 0) return { type: "object", properties: {} };
  return params;
}

function callSchema(tool: ToolSpec): Record<string, unknown> {
  return {
    type: "object",
    properties: { name: { const: tool.name }, arguments: argumentsSchema(tool) },
    required: ["name", "arguments"],
    additionalProperties: false,
  };
}

/** JSON schema of one call to any of `tools` (each name paired with its own arguments schema). */
export function toolCallFormat(tools: readonly ToolSpec[]): OutputFormat {
  const [only] = tools;
  const schema = tools.length === 1 && only ? callSchema(only) : { oneOf: tools.map(callSchema) };
  return { type: "json_schema", schema };
}
