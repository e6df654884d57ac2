import type { z } from "zod";
import { AppError } from "../errors.js";

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let node = body;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/**
 * Parses a wire body with its zod schema; failures become AppError `invalid_request` naming the
 * field ("invalid request: model is required"), with `param` set for OpenAI's error shape.
 */
export function parseWire<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue?.path.map(String).join(".") ?? "";
  if (issue === undefined) throw new AppError("invalid_request", "invalid request");
  if (field === "") {
    throw new AppError("invalid_request", "invalid request: body must be a JSON object");
  }
  const value = valueAt(body, issue.path);
  // An absent field, or an empty string where a name is needed, reads "x is required" (Ollama's wording).
  const missing = value === undefined || value === null || (issue.code === "too_small" && value === "");
  const message = missing ? `${field} is required` : `${field}: ${issue.message}`;
  throw new AppError("invalid_request", `invalid request: ${message}`, { param: field });
}
