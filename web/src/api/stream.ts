import type { StreamEvent } from "./types";

/**
 * Reads an NDJSON stream (an answer's, docs/web-app.md Streams; a pull's progress; the log tail)
 * and hands each line's object to `onEvent` as it arrives. Resolves when the stream ends; rejects
 * if it breaks (the caller decides whether to re-attach). A line that is not JSON is skipped: one bad line must not lose the answer.
 */
export async function readStream<T = StreamEvent>(
  response: Response,
  onEvent: (event: T) => void,
): Promise<void> {
  const body = response.body;
  if (!body) return;
  // Decoded here rather than through a TextDecoderStream: a pipe adds a hop per chunk between
  // the network and the page, and the first chunk holds the answer's first token.
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  const emit = (line: string) => {
    if (line.trim() === "") return;
    try {
      onEvent(JSON.parse(line) as T);
    } catch {
      // skipped, see above
    }
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline = buffered.indexOf("\n");
    while (newline >= 0) {
      emit(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf("\n");
    }
  }
  emit(buffered + decoder.decode());
}
