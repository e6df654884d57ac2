/**
 * Model default parameters (the params layer): validation against Ollama's option names and types
 * (api/types.go `Options` + `Runner`), and the text forms `/api/show` prints.
 */
import { AppError } from "../errors.js";

type ParamKind = "int" | "float" | "bool" | "string" | "stringList";

/** Every option a params layer may hold, with its type. */
const KNOWN: Readonly<Record<string, ParamKind>> = {
  num_keep: "int",
  seed: "int",
  num_predict: "int",
  top_k: "int",
  top_p: "float",
  min_p: "float",
  typical_p: "float",
  repeat_last_n: "int",
  temperature: "float",
  repeat_penalty: "float",
  presence_penalty: "float",
  frequency_penalty: "float",
  stop: "stringList",
  num_ctx: "int",
  num_batch: "int",
  num_gpu: "int",
  main_gpu: "int",
  use_mmap: "bool",
  num_thread: "int",
  draft_num_predict: "int",
  // aixcl's: the model that drafts for this one when engine.speculative is "draft" (llama-server's
  // --model-draft). Ollama ignores option names it does not know, so the store stays readable.
  draft_model: "string",
};

/** Options Ollama once had and now ignores (parser.go deprecatedParameters): accepted, dropped. */
const DEPRECATED = new Set([
  "penalize_newline",
  "low_vram",
  "f16_kv",
  "logits_all",
  "vocab_only",
  "use_mlock",
  "mirostat",
  "mirostat_tau",
  "mirostat_eta",
]);

/** Longest stop sequence and most stop sequences accepted. */
const MAX_STOP_LENGTH = 1024;
const MAX_STOPS = 64;

function bad(key: string, what: string): AppError {
  return new AppError("invalid_request", `parameter "${key}" must be ${what}`, { param: key });
}

/**
 * Checks `parameters` of /api/create and returns them normalised (`stop` always a string array,
 * deprecated names dropped). Unknown names and wrong types throw AppError invalid_request.
 */
export function validateParameters(input: unknown): Record<string, unknown> {
  if (input === undefined || input === null) return {};
  if (typeof input !== "object" || Array.isArray(input)) {
    throw new AppError("invalid_request", "parameters must be an object", { param: "parameters" });
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input as Record<string, unknown>)) {
    if (DEPRECATED.has(key)) continue;
    const kind = Object.hasOwn(KNOWN, key) ? KNOWN[key] : undefined;
    if (kind === undefined) {
      throw new AppError("invalid_request", `unknown parameter "${key}"`, { param: key });
    }
    if (value === null) continue;
    switch (kind) {
      case "int":
        if (typeof value !== "number" || !Number.isSafeInteger(value)) throw bad(key, "an integer");
        out[key] = value;
        break;
      case "float":
        if (typeof value !== "number" || !Number.isFinite(value)) throw bad(key, "a number");
        out[key] = value;
        break;
      case "bool":
        if (typeof value !== "boolean") throw bad(key, "a boolean");
        out[key] = value;
        break;
      case "string":
        if (typeof value !== "string" || value.trim() === "") throw bad(key, "a non-empty string");
        out[key] = value.trim();
        break;
      case "stringList": {
        const list = typeof value === "string" ? [value] : value;
        if (
          !Array.isArray(list) ||
          list.length > MAX_STOPS ||
          !list.every((s) => typeof s === "string" && s.length > 0 && s.length <= MAX_STOP_LENGTH)
        ) {
          throw bad(key, `a non-empty string or an array of up to ${MAX_STOPS} non-empty strings`);
        }
        out[key] = [...(list as string[])];
        break;
      }
    }
  }
  return out;
}

/** Go's `%v` for a float64 (strconv 'g', shortest): exponent form below 1e-4 and from 1e6 on. */
export function goFloat(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const [mantissa, expText] = n.toExponential().split("e") as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  // In this range JavaScript's shortest form is plain decimal, as Go's is.
  return String(n);
}

/** One value as Go's `%v` prints it (the Modelfile form). */
export function goValue(value: unknown): string {
  if (typeof value === "number") return goFloat(value);
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  return JSON.stringify(value) ?? "";
}

/** One value as Go's `%#v` prints it (the `parameters` text of /api/show): strings quoted. */
function goSyntaxValue(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  return goValue(value);
}

/** Each parameter value as its own entry, arrays expanded (`stop` gives one line per string). */
export function parameterEntries(params: Record<string, unknown>): [string, unknown][] {
  const entries: [string, unknown][] = [];
  for (const [key, value] of Object.entries(params)) {
    if (Array.isArray(value)) for (const v of value) entries.push([key, v]);
    else entries.push([key, value]);
  }
  return entries;
}

/** `/api/show`'s `parameters`: `stop                           "<|im_end|>"` lines. */
export function formatParametersText(params: Record<string, unknown>): string {
  return parameterEntries(params)
    .map(([key, value]) => `${key.padEnd(30)} ${goSyntaxValue(value)}`)
    .join("\n");
}
