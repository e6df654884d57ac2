import type { z } from "zod";
import { AppError } from "../../../errors.js";
import { checkWire } from "../../validate.js";

/** `messages[0].content` style path of a zod issue: what OpenAI's `param` names. */
function paramOf(path: readonly PropertyKey[]): string | undefined {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out === "" ? String(key) : `.${String(key)}`;
  }
  return out === "" ? undefined : out;
}

/**
 * Parses a request body with its wire schema; the first problem becomes a 400 whose `param`
 * names the field, so a client can tell which field to fix.
 */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new AppError("invalid_request", "invalid request: the body must be a JSON object");
  }
  const checked = checkWire(schema, body);
  if (checked.ok) return checked.data;
  const { issue, value } = checked;
  const param = issue === undefined ? undefined : paramOf(issue.path);
  // An absent field reads "model is required" rather than zod's type-mismatch wording.
  const missing = issue !== undefined && value == null;
  const detail = issue?.message ?? "invalid body";
  let message = detail;
  if (param !== undefined && missing) message = `${param} is required`;
  else if (param !== undefined && !detail.startsWith(param)) message = `${param}: ${detail}`;
  return invalid(message, param);
}

/** Throws a 400 naming the field at fault. */
export function invalid(message: string, param?: string): never {
  throw new AppError("invalid_request", `invalid request: ${message}`, param === undefined ? {} : { param });
}

/** Throws a 400 for a feature the request asks for that this server does not provide. */
export function unsupported(message: string, param: string): never {
  throw new AppError("unsupported", message, { param });
}
