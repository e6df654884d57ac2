import { AppError } from "../errors.js";

/** Longest NDJSON line accepted from a server, characters: a runaway line must not eat memory. */
const MAX_LINE = 16 * 1024 * 1024;

/**
 * Parses an NDJSON response body into objects. A line `{"error": "..."}` is Ollama's in-band
 * error (the status was already 200 when the failure happened), so it is thrown as an AppError.
 */
export async function* readNdjson<T>(body: ReadableStream<Uint8Array>): AsyncGenerator<T> {
  const decoder = new TextDecoder();
  let buffer = "";
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        const item = parseLine<T>(line);
        if (item !== undefined) yield item;
      }
      if (buffer.length > MAX_LINE) throw new AppError("internal", "server sent an NDJSON line over 16 MiB");
      if (done) break;
    }
    const last = parseLine<T>(buffer);
    if (last !== undefined) yield last;
  } finally {
    // An abandoned iteration (break, throw) must free the connection.
    await reader.cancel().catch(() => undefined);
  }
}

function parseLine<T>(line: string): T | undefined {
  if (line.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new AppError("internal", "server sent a line that is not JSON", { cause: error });
  }
  if (typeof value === "object" && value !== null && "error" in value) {
    const message = value.error;
    throw new AppError("internal", typeof message === "string" ? message : JSON.stringify(message));
  }
  return value as T;
}
