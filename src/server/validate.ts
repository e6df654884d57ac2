import type { z } from "zod";
import { AppError } from "../errors.js";

/** A wire body that failed its schema: the first issue and the value found at its path. */
export interface WireProblem {
  issue: z.core.$ZodIssue | undefined;
  /** What the body holds at `issue.path` (undefined when the field is absent). */
  value: unknown;
}

function valueAt(body: unknown, path: readonly PropertyKey[]): unknown {
  let node = body;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/**
 * Runs `schema` on `body`: the parsed data, or the first problem. Each API family words the
 * problem its own way (Ollama's "x is required", OpenAI's `param`), so this does not throw.
 */
export function checkWire<T extends z.ZodType>(
  schema: T,
  body: unknown,
): { ok: true; data: z.output<T> } | ({ ok: false } & WireProblem) {
  const result = schema.safeParse(body);
  if (result.success) return { ok: true, data: result.data };
  const issue = result.error.issues[0];
  return { ok: false, issue, value: issue === undefined ? undefined : valueAt(body, issue.path) };
}

/**
 * Parses a wire body with its zod schema; failures become AppError `invalid_request` naming the
 * field ("invalid request: model is required"), with `param` set for OpenAI's error shape.
 */
export function parseWire<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const checked = checkWire(schema, body);
  if (checked.ok) return checked.data;
  const { issue, value } = checked;
  const field = issue?.path.map(String).join(".") ?? "";
  if (issue === undefined) throw new AppError("invalid_request", "invalid request");
  if (field === "") {
    throw new AppError("invalid_request", "invalid request: body must be a JSON object");
  }
  // An absent field, or an empty string where a name is needed, reads "x is required" (Ollama's wording).
  const missing = value === undefined || value === null || (issue.code === "too_small" && value === "");
  const message = missing ? `${field} is required` : `${field}: ${issue.message}`;
  throw new AppError("invalid_request", `invalid request: ${message}`, { param: field });
}
