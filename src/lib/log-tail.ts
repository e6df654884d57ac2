/**
 * The last log lines in memory, for the admin console's log page (`GET /api/admin/logs`,
 * docs/admin-console.md): the same JSON lines the logger writes to `aixcl.log`, redaction already
 * applied (src/logger.ts feeds it from pino's streamWrite hook). A fixed ring of lines, each
 * bounded in size, so it never grows with uptime; followers hear each new line as it is written.
 */

export interface LogLine {
  /** pino's level number. */
  level: number;
  /** The JSON line as written, without its newline. */
  text: string;
}

export interface LogTail {
  /** Records one serialized line (pino's output, newline included or not). */
  write(line: string): void;
  /** The lines held, oldest first. */
  lines(): LogLine[];
  /** Calls `listener` with every line written from now on; returns the unsubscribe. */
  follow(listener: (line: LogLine) => void): () => void;
  /** Listeners following now (a closed log stream must leave none behind). */
  readonly followers: number;
}

export interface LogTailOptions {
  /** Lines kept. Default 1000. */
  capacity?: number;
  /** Longest line kept whole, characters; longer ones are replaced by a note. Default 16384. */
  maxLineChars?: number;
}

/** pino writes `{"level":30,…` first; anything else counts as info. */
function levelOf(text: string): number {
  const match = /^\{"level":(\d+)/.exec(text);
  return match ? Number(match[1]) : 30;
}

export function createLogTail(options: LogTailOptions = {}): LogTail {
  const capacity = options.capacity ?? 1000;
  const maxLineChars = options.maxLineChars ?? 16_384;
  const ring: LogLine[] = [];
  let next = 0;
  const listeners = new Set<(line: LogLine) => void>();

  return {
    write(raw) {
      const text = raw.endsWith("\n") ? raw.slice(0, -1) : raw;
      const level = levelOf(text);
      const line: LogLine =
        text.length <= maxLineChars
          ? { level, text }
          : {
              level,
              text: JSON.stringify({
                level,
                time: Date.now(),
                msg: `(a log line of ${text.length} characters is in aixcl.log only)`,
              }),
            };
      if (ring.length < capacity) ring.push(line);
      else ring[next] = line;
      next = (next + 1) % capacity;
      for (const listener of listeners) listener(line);
    },
    lines() {
      return ring.length < capacity ? [...ring] : [...ring.slice(next), ...ring.slice(0, next)];
    },
    follow(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get followers() {
      return listeners.size;
    },
  };
}
