import type { Arg, Node, Pipe } from "./go-template-parse.js";

/**
 * Executes a parsed Go template over plain data. Values are JSON-like; an object may carry a
 * `JSON_FORM` (the value Go's `String()`/`json` would marshal), which is what printing it shows.
 * Field lookup only reads own properties, so a template can reach nothing but the data given.
 */

export const JSON_FORM = Symbol("jsonForm");

const MAX_STEPS = 1_000_000;

class BreakSignal extends Error {}
class ContinueSignal extends Error {}
/** Thrown to end rendering after the first `.Response` (Ollama cuts the last turn there). */
class StopSignal extends Error {}

export interface ExecOptions {
  /** End output right after the first action that prints a `.Response` field. */
  stopAtResponse?: boolean;
}

type Scope = Map<string, unknown>[];

function jsonForm(value: unknown): unknown {
  if (value !== null && typeof value === "object") {
    const form = (value as { [JSON_FORM]?: unknown })[JSON_FORM];
    if (form !== undefined) return form;
    if (Array.isArray(value)) return value.map(jsonForm);
  }
  return value;
}

function toJson(value: unknown): string {
  return JSON.stringify(jsonForm(value) ?? null);
}

function truth(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === "") return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === "object") return Object.keys(value).length > 0 || JSON_FORM in value;
  return true;
}

/** How Go's fmt prints a value in `{{ . }}`. */
function show(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && !(JSON_FORM in value)) return `[${value.map(show).join(" ")}]`;
  return toJson(value);
}

function field(value: unknown, name: string): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

function length(value: unknown): number {
  if (typeof value === "string" || Array.isArray(value)) return value.length;
  if (value !== null && typeof value === "object") return Object.keys(value).length;
  throw new Error(`len of ${typeof value}`);
}

function compare(op: string, a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b || (typeof a !== "number" && typeof a !== "string")) {
    throw new Error(`incompatible types for comparison in ${op}`);
  }
  const [x, y] = [a, b as number | string];
  return op === "lt" ? x < y : op === "le" ? x <= y : op === "gt" ? x > y : x >= y;
}

function sprintf(format: string, args: unknown[]): string {
  let n = 0;
  return format.replace(/%([-+# 0]*\d*(?:\.\d+)?)([svdqtfgx%])/g, (_m, _flags: string, verb: string) => {
    if (verb === "%") return "%";
    const arg = args[n++];
    switch (verb) {
      case "q":
        return JSON.stringify(show(arg));
      case "d":
        return String(Math.trunc(Number(arg)));
      case "x":
        return Math.trunc(Number(arg)).toString(16);
      default:
        return show(arg);
    }
  });
}

function date(offsetDays: number): string {
  const d = new Date(Date.now() - offsetDays * 86_400_000);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** Ollama's `toTypeScriptType` for a tool property (`{Type, Items, Enum}`). */
function toTypeScriptType(value: unknown): string {
  const type = field(value, "Type");
  const types = (Array.isArray(type) ? type : [type]).filter((t): t is string => typeof t === "string");
  if (types.length === 0) return "any";
  const enumValues = field(value, "Enum");
  const one = (t: string): string => {
    if (t === "string" && Array.isArray(enumValues))
      return enumValues.map((v) => JSON.stringify(v)).join(" | ");
    if (t === "array") return `${toTypeScriptType(field(value, "Items"))}[]`;
    if (t === "integer") return "number";
    if (t === "object") return "Record<string, any>";
    return t;
  };
  return types.map(one).join(" | ");
}

const FUNCS: Readonly<Record<string, (...args: unknown[]) => unknown>> = {
  not: (a) => !truth(a),
  eq: (a, ...rest) => rest.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => compare("lt", a, b),
  le: (a, b) => compare("le", a, b),
  gt: (a, b) => compare("gt", a, b),
  ge: (a, b) => compare("ge", a, b),
  len: (a) => length(a),
  index: (a, ...keys) => keys.reduce((v, k) => (Array.isArray(v) ? v[Number(k)] : field(v, String(k))), a),
  slice: (a, i, j) => {
    if (typeof a !== "string" && !Array.isArray(a)) throw new Error("can't slice item");
    const start = i === undefined ? 0 : Number(i);
    const end = j === undefined ? a.length : Number(j);
    if (start < 0 || end > a.length || start > end)
      throw new Error(`slice index out of range: ${start}:${end}`);
    return a.slice(start, end);
  },
  json: (a) => toJson(a),
  printf: (format, ...args) => sprintf(String(format), args),
  print: (...args) =>
    args
      .map((a, k) => (k > 0 && typeof a !== "string" && typeof args[k - 1] !== "string" ? " " : "") + show(a))
      .join(""),
  println: (...args) => `${args.map(show).join(" ")}\n`,
  currentDate: () => date(0),
  yesterdayDate: () => date(1),
  toTypeScriptType: (a) => toTypeScriptType(a),
};

/** Runs `nodes` with `data` as both `.` and `$`; throws Error on a runtime failure. */
export function executeGoTemplate(nodes: readonly Node[], data: unknown, options: ExecOptions = {}): string {
  let out = "";
  let steps = 0;
  const tick = () => {
    if (++steps > MAX_STEPS) throw new Error(`template exceeded ${MAX_STEPS} steps`);
  };

  const lookupVar = (scope: Scope, name: string): unknown => {
    for (let i = scope.length - 1; i >= 0; i--) {
      const frame = scope[i] as Map<string, unknown>;
      if (frame.has(name)) return frame.get(name);
    }
    throw new Error(`undefined variable: ${name}`);
  };

  const setVars = (scope: Scope, pipe: Pipe, values: unknown[]) => {
    pipe.vars.forEach((name, k) => {
      if (!pipe.assign) {
        (scope.at(-1) as Map<string, unknown>).set(name, values[k]);
        return;
      }
      const frame = [...scope].reverse().find((f) => f.has(name));
      if (!frame) throw new Error(`undefined variable: ${name}`);
      frame.set(name, values[k]);
    });
  };

  const evalArg = (arg: Arg, dot: unknown, scope: Scope): unknown => {
    switch (arg.type) {
      case "literal":
        return arg.value;
      case "field": {
        const base = arg.variable === undefined ? dot : lookupVar(scope, arg.variable);
        return arg.path.reduce(field, base);
      }
      case "paren":
        return arg.path.reduce(field, evalPipe(arg.pipe, dot, scope));
      case "func":
        return callFunc(arg.name, [], dot, scope, undefined);
    }
  };

  const callFunc = (
    name: string,
    args: Arg[],
    dot: unknown,
    scope: Scope,
    piped: unknown[] | undefined,
  ): unknown => {
    // `and` / `or` evaluate lazily and return the deciding operand, as in Go.
    if (name === "and" || name === "or") {
      const thunks: (() => unknown)[] = args.map((a) => () => evalArg(a, dot, scope));
      if (piped) thunks.push(() => piped[0]);
      let value: unknown;
      for (const thunk of thunks) {
        value = thunk();
        if (truth(value) === (name === "or")) return value;
      }
      return value;
    }
    const fn = Object.hasOwn(FUNCS, name) ? FUNCS[name] : undefined;
    if (!fn) throw new Error(`function "${name}" not defined`);
    const values = args.map((a) => evalArg(a, dot, scope));
    if (piped) values.push(piped[0]);
    return fn(...values);
  };

  const evalPipe = (pipe: Pipe, dot: unknown, scope: Scope): unknown => {
    let result: unknown[] | undefined;
    for (const command of pipe.commands) {
      tick();
      const [head, ...args] = command as [Arg, ...Arg[]];
      if (head.type === "func") {
        result = [callFunc(head.name, args, dot, scope, result)];
      } else {
        if (args.length > 0 || result) throw new Error("can't give argument to non-function");
        result = [evalArg(head, dot, scope)];
      }
    }
    const value = result?.[0];
    if (pipe.vars.length > 0) setVars(scope, pipe, [value]);
    return value;
  };

  const mentionsResponse = (pipe: Pipe): boolean =>
    pipe.commands.some((command) =>
      command.some(
        (arg) =>
          (arg.type === "field" && arg.path.includes("Response")) ||
          (arg.type === "paren" && mentionsResponse(arg.pipe)),
      ),
    );

  const run = (list: readonly Node[], dot: unknown, scope: Scope): void => {
    for (const node of list) {
      tick();
      switch (node.type) {
        case "text":
          out += node.text;
          break;
        case "print": {
          const value = evalPipe(node.pipe, dot, scope);
          if (node.pipe.vars.length === 0) out += show(value);
          if (options.stopAtResponse && mentionsResponse(node.pipe)) throw new StopSignal();
          break;
        }
        case "if":
        case "with": {
          const inner: Scope = [...scope, new Map<string, unknown>()];
          const value = evalPipe(node.pipe, dot, inner);
          if (truth(value)) run(node.list, node.type === "with" ? value : dot, inner);
          else if (node.elseList) run(node.elseList, dot, [...scope, new Map<string, unknown>()]);
          break;
        }
        case "range":
          runRange(node, dot, scope);
          break;
        case "break":
          throw new BreakSignal();
        case "continue":
          throw new ContinueSignal();
      }
    }
  };

  const runRange = (node: Extract<Node, { list: Node[] }>, dot: unknown, scope: Scope): void => {
    const { vars, ...pipeNoVars } = node.pipe;
    const value = evalPipe({ ...pipeNoVars, vars: [] }, dot, scope);
    let entries: [unknown, unknown][];
    if (Array.isArray(value)) entries = value.map((v, i) => [i, v]);
    else if (typeof value === "number" && value > MAX_STEPS)
      throw new Error(`range over ${value} exceeds the step limit`);
    else if (typeof value === "number")
      entries = Array.from({ length: Math.max(0, Math.trunc(value)) }, (_, i) => [i, i]);
    else if (value !== null && typeof value === "object") {
      entries = Object.keys(value)
        .sort()
        .map((k) => [k, (value as Record<string, unknown>)[k]]);
    } else if (value === undefined || value === null) entries = [];
    else throw new Error(`range can't iterate over ${show(value)}`);
    if (entries.length === 0) {
      if (node.elseList) run(node.elseList, dot, [...scope, new Map<string, unknown>()]);
      return;
    }
    for (const [key, element] of entries) {
      const frame = new Map<string, unknown>();
      if (vars.length === 1) frame.set(vars[0] as string, element);
      if (vars.length === 2) frame.set(vars[0] as string, key).set(vars[1] as string, element);
      try {
        run(node.list, element, [...scope, frame]);
      } catch (signal) {
        if (signal instanceof BreakSignal) break;
        if (!(signal instanceof ContinueSignal)) throw signal;
      }
    }
  };

  try {
    run(nodes, data, [new Map([["$", data]])]);
  } catch (signal) {
    if (!(signal instanceof StopSignal)) throw signal;
  }
  return out;
}
