import * as jinja from "@huggingface/jinja";

/**
 * Jinja (Hugging Face chat template) rendering with limits. `@huggingface/jinja` is an interpreter
 * over its own value types: a template sees only the variables we set, never JS globals. What it
 * lacks is a bound on work, and templates come from downloaded model files, so evaluation steps
 * and `range()` sizes are capped here.
 */

/** Most interpreter steps one render may take (a 200-message, 20-tool Qwen chat takes ~5,000). */
const MAX_STEPS = 300_000;
/** Largest list `range()` may build. */
const MAX_RANGE = 100_000;
const CACHE_SIZE = 32;

// The package's .d.ts files use extensionless relative imports, which NodeNext resolution cannot
// follow (its exports come through as `any`), so the little we use is typed here.
interface JinjaEnvironment {
  set(name: string, value: unknown): unknown;
}
interface JinjaInterpreter {
  run(program: unknown): { value: unknown };
  evaluate(statement: unknown, environment: unknown): unknown;
}
interface Template {
  parsed: unknown;
}
const Environment = jinja.Environment as new () => JinjaEnvironment;
const Interpreter = jinja.Interpreter as new (env: JinjaEnvironment) => JinjaInterpreter;
const Template = jinja.Template as new (source: string) => Template;

class StepLimitedInterpreter extends Interpreter {
  private steps = 0;
  override evaluate(statement: unknown, environment: unknown): unknown {
    if (++this.steps > MAX_STEPS) throw new Error(`template exceeded ${MAX_STEPS} evaluation steps`);
    return super.evaluate(statement, environment);
  }
}

function range(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error("range() step must not be zero");
  const count = Math.max(0, Math.ceil((stop - start) / step));
  if (count > MAX_RANGE) throw new Error(`range() of ${count} items exceeds ${MAX_RANGE}`);
  return Array.from({ length: count }, (_, i) => start + i * step);
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Python's strftime for the directives chat templates use (dates in system prompts). */
function strftime(date: Date, format: string): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  const hour12 = date.getHours() % 12 === 0 ? 12 : date.getHours() % 12;
  const dayOfYear =
    Math.floor((date.getTime() - new Date(date.getFullYear(), 0, 1).getTime()) / 86_400_000) + 1;
  const directives: Record<string, () => string> = {
    d: () => pad(date.getDate()),
    m: () => pad(date.getMonth() + 1),
    Y: () => String(date.getFullYear()),
    y: () => pad(date.getFullYear() % 100),
    B: () => MONTHS[date.getMonth()] as string,
    b: () => (MONTHS[date.getMonth()] as string).slice(0, 3),
    A: () => DAYS[date.getDay()] as string,
    a: () => (DAYS[date.getDay()] as string).slice(0, 3),
    H: () => pad(date.getHours()),
    I: () => pad(hour12),
    M: () => pad(date.getMinutes()),
    S: () => pad(date.getSeconds()),
    p: () => (date.getHours() < 12 ? "AM" : "PM"),
    j: () => pad(dayOfYear, 3),
    "%": () => "%",
  };
  return format.replace(/%(-?)([a-zA-Z%])/g, (match, noPad: string, key: string) => {
    const fn = directives[key];
    if (!fn) return match;
    const value = fn();
    return noPad ? value.replace(/^0+(?=\d)/, "") : value;
  });
}

const compiled = new Map<string, Template>();

function compile(source: string): Template {
  const cached = compiled.get(source);
  if (cached) {
    // Refresh recency: Map keeps insertion order, so the oldest entry is evicted first.
    compiled.delete(source);
    compiled.set(source, cached);
    return cached;
  }
  const template = new Template(source);
  compiled.set(source, template);
  if (compiled.size > CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
  return template;
}

/** Throws when `source` is not a Jinja template (a syntax error). */
export function parseJinja(source: string): void {
  compile(source);
}

/** Renders a Jinja template with `variables` (plain JSON-like values) and the usual chat helpers. */
export function renderJinja(source: string, variables: Record<string, unknown>): string {
  const template = compile(source);
  const env = new Environment();
  const globals: Record<string, unknown> = {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    range,
    raise_exception: (message: unknown) => {
      throw new Error(String(message));
    },
    strftime_now: (format: unknown) => strftime(new Date(), String(format)),
    ...variables,
  };
  for (const [key, value] of Object.entries(globals)) env.set(key, value);
  const result = new StepLimitedInterpreter(env).run(template.parsed);
  return String(result.value);
}
