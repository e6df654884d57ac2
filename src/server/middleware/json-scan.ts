/**
 * One pass over a JSON text before JSON.parse sees it: the nesting depth (so a 100k-deep `[[[[...`
 * never reaches the parser's recursion) and keys repeated within one object. JSON.parse keeps the
 * last of a repeated key where other parsers (a proxy, a WAF, a Go or Python service in front)
 * may keep the first, so `{"username":"nobody","username":"admin"}` would be checked as one body
 * and acted on as another: such bodies are refused instead.
 *
 * Strings are skipped with indexOf (native, memchr-fast), so a body that is mostly one long string
 * (a base64 image, a long prompt) costs little more than finding its closing quote.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

export interface JsonScan {
  /** Nesting went past the limit (the scan stopped there). */
  tooDeep: boolean;
  /** The first key found twice in one object, as JSON.parse would decode it. */
  duplicateKey: string | undefined;
}

/** Index of the quote closing the string whose opening quote is at `open`; -1 when unterminated. */
function stringEnd(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    // A quote preceded by an odd run of backslashes is escaped. Each run precedes one quote at
    // most, so these backward walks add up to the text's length, never more.
    let slashes = 0;
    for (let i = at - 1; text.charCodeAt(i) === BACKSLASH; i--) slashes++;
    if (slashes % 2 === 0) return at;
  }
}

/** A key as JSON.parse sees it: `"\u0075ser"` and `"user"` are the same key. */
function decodeKey(text: string, open: number, close: number): string {
  const raw = text.slice(open + 1, close);
  if (!raw.includes("\\")) return raw;
  try {
    return JSON.parse(text.slice(open, close + 1)) as string;
  } catch {
    return raw; // not valid JSON: JSON.parse refuses the whole body anyway
  }
}

/**
 * Scans `text` once. Malformed text never throws here: whatever this pass makes of it, JSON.parse
 * is what decides whether it is JSON.
 */
export function scanJson(text: string, maxDepth: number): JsonScan {
  // One frame per open container: the keys seen so far for an object, null for an array.
  const frames: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === QUOTE) {
      const end = stringEnd(text, i);
      if (end < 0) break;
      const keys = frames.length > 0 ? frames[frames.length - 1] : null;
      if (keys && expectKey) {
        const key = decodeKey(text, i, end);
        if (keys.has(key)) return { tooDeep: false, duplicateKey: key };
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (ch === OPEN_OBJECT || ch === OPEN_ARRAY) {
      if (frames.length >= maxDepth) return { tooDeep: true, duplicateKey: undefined };
      frames.push(ch === OPEN_OBJECT ? new Set() : null);
      expectKey = ch === OPEN_OBJECT;
    } else if (ch === CLOSE_OBJECT || ch === CLOSE_ARRAY) {
      frames.pop();
      expectKey = false;
    } else if (ch === COMMA) {
      expectKey = frames.length > 0 && frames[frames.length - 1] !== null;
    }
  }
  return { tooDeep: false, duplicateKey: undefined };
}
