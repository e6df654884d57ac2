/**
 * PostgreSQL's COPY text format (what pg_dump's plain format carries between `COPY … FROM stdin;`
 * and `\.`) and the SQL quoting the dump needs. Values travel as the server's own text output of
 * each column, so bytea, jsonb, arrays and timestamps need no handling of their own here: only
 * the COPY escapes, which make every row one line and no data line equal to the `\.` terminator.
 */
import { AppError } from "../errors.js";

const ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
  "\v": "\\v",
};

/** One field in COPY text format; `null` is `\N`. */
function copyEscape(value: string | null): string {
  if (value === null) return "\\N";
  return value.replace(/[\\\n\r\t\b\f\v]/g, (char) => ESCAPES[char] ?? char);
}

/** One COPY text row (no trailing newline). */
export function copyRow(values: readonly (string | null)[]): string {
  return values.map(copyEscape).join("\t");
}

function badRow(detail: string): AppError {
  return new AppError("invalid_request", `not a valid aixcl backup: database.sql ${detail}`);
}

/** Decodes the bytes `\NNN` and `\xHH` escapes stand for, as COPY does (UTF-8 in our dumps). */
function decodeField(field: string): string {
  if (!field.includes("\\")) return field;
  const bytes: number[] = [];
  const out: string[] = [];
  const flushBytes = () => {
    if (bytes.length > 0) out.push(Buffer.from(bytes).toString("utf8"));
    bytes.length = 0;
  };
  for (let i = 0; i < field.length; i++) {
    const char = field[i] as string;
    if (char !== "\\") {
      flushBytes();
      out.push(char);
      continue;
    }
    const next = field[i + 1];
    if (next === undefined) throw badRow("has a row ending in a lone backslash");
    i += 1;
    const simple: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };
    const mapped = simple[next];
    if (mapped !== undefined) {
      flushBytes();
      out.push(mapped);
    } else if (/[0-7]/.test(next)) {
      const digits = /^[0-7]{1,3}/.exec(field.slice(i))?.[0] ?? next;
      bytes.push(parseInt(digits, 8) & 0xff);
      i += digits.length - 1;
    } else if (next === "x" && /^[0-9a-fA-F]/.test(field.slice(i + 1))) {
      const digits = /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 1))?.[0] ?? "";
      bytes.push(parseInt(digits, 16));
      i += digits.length;
    } else {
      // Any other escaped character stands for itself (`\\` is a backslash).
      flushBytes();
      out.push(next);
    }
  }
  flushBytes();
  return out.join("");
}

/** Parses one COPY text row into its fields (`\N` → null). */
export function parseCopyRow(line: string, columns: number): (string | null)[] {
  const fields = line.split("\t").map((field) => (field === "\\N" ? null : decodeField(field)));
  if (fields.length !== columns) {
    throw badRow(`has a row with ${fields.length} fields where ${columns} were expected`);
  }
  return fields;
}

/** An identifier quoted for SQL, always (keywords and mixed case need no special cases then). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal under standard_conforming_strings (backslashes are plain characters). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Parses a comma-separated list of SQL identifiers as `quote_ident` writes them: bare lower-case
 * names or double-quoted ones with `""` for a quote. Returns undefined for anything else.
 */
export function parseIdentList(text: string): string[] | undefined {
  const names: string[] = [];
  let rest = text.trim();
  for (;;) {
    let match = /^"((?:[^"]|"")+)"/.exec(rest);
    if (match) {
      names.push((match[1] as string).replace(/""/g, '"'));
    } else {
      match = /^[a-z_][a-z0-9_$]*/.exec(rest);
      if (!match) return undefined;
      names.push(match[0]);
    }
    rest = rest.slice(match[0].length).trimStart();
    if (rest === "") return names;
    if (!rest.startsWith(",")) return undefined;
    rest = rest.slice(1).trimStart();
  }
}
