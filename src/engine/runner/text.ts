/**
 * Turning sampled tokens into client text: incremental detokenization that never splits a UTF-8
 * character, and stop strings that are never emitted (text that could be the start of one is
 * held back until it is known not to be).
 */

/** What llama.cpp's detokenizer yields for bytes that do not (yet) form a whole character. */
const REPLACEMENT = "\uFFFD";
/** A character is at most 4 UTF-8 bytes: past that many pending tokens, the bytes are just invalid. */
const MAX_PENDING_TOKENS = 4;
/** Preceding tokens given to the detokenizer so it knows whether a leading space belongs. */
const LOOKBEHIND_TOKENS = 4;

export type Detokenize<T extends number> = (tokens: readonly T[], lastTokens: readonly T[]) => string;

/** Converts tokens to text one at a time, holding tokens back while they end in a partial character. */
export class IncrementalDetokenizer<T extends number = number> {
  private pending: T[] = [];
  private lookbehind: T[];

  constructor(
    private readonly detokenize: Detokenize<T>,
    precedingTokens: readonly T[],
  ) {
    this.lookbehind = precedingTokens.slice(-LOOKBEHIND_TOKENS);
  }

  /** The text of `token`, or "" while it (with earlier held tokens) ends mid-character. */
  push(token: T): string {
    this.pending.push(token);
    const text = this.detokenize(this.pending, this.lookbehind);
    if (text.endsWith(REPLACEMENT) && this.pending.length < MAX_PENDING_TOKENS) return "";
    this.advance();
    return text;
  }

  /** Whatever is still held (at the end of generation): emitted as is, invalid bytes as U+FFFD. */
  flush(): string {
    if (this.pending.length === 0) return "";
    const text = this.detokenize(this.pending, this.lookbehind);
    this.advance();
    return text;
  }

  private advance(): void {
    const all = this.lookbehind.concat(this.pending);
    this.lookbehind = all.slice(-LOOKBEHIND_TOKENS);
    this.pending = [];
  }
}

/**
 * Finds stop strings across token boundaries. `push` returns the text that is safe to emit and
 * whether a stop string was reached (the text before it is returned, the stop string is not).
 */
export class StopMatcher {
  private held = "";
  private readonly stops: string[];

  constructor(stops: readonly string[] | undefined) {
    this.stops = (stops ?? []).filter((s) => s.length > 0);
  }

  get active(): boolean {
    return this.stops.length > 0;
  }

  push(text: string): { emit: string; stopped: boolean } {
    if (this.stops.length === 0) return { emit: text, stopped: false };
    const buffer = this.held + text;
    let first = -1;
    for (const stop of this.stops) {
      const at = buffer.indexOf(stop);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.held = "";
      return { emit: buffer.slice(0, first), stopped: true };
    }
    const keep = this.partialSuffixLength(buffer);
    this.held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** Held-back text once generation ends without reaching a stop string. */
  flush(): string {
    const text = this.held;
    this.held = "";
    return text;
  }

  /** Length of the longest suffix of `buffer` that is a proper prefix of some stop string. */
  private partialSuffixLength(buffer: string): number {
    let best = 0;
    for (const stop of this.stops) {
      const max = Math.min(stop.length - 1, buffer.length);
      for (let len = max; len > best; len--) {
        if (buffer.endsWith(stop.slice(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
