/**
 * Reading a streamed HTTP answer in two steps, for tests that act while a stream is open (log
 * out, revoke a key, kill a runner): wait for the first record, then read the rest and learn
 * whether the server cut the connection mid-stream.
 */

export interface OpenedStream {
  /** The text read so far: at least the first complete record (or everything, if it ended first). */
  readonly head: string;
  /** Reads to the end: all the text received (head included) and whether the connection was cut. */
  finish(): Promise<{ text: string; cut: boolean }>;
}

/**
 * Reads `response`'s body until the first `separator` (`\n` for NDJSON, `\n\n` for SSE), or
 * until `separator(text so far)` holds.
 */
export async function openStreamBody(
  response: Response,
  separator: string | ((text: string) => boolean) = "\n",
): Promise<OpenedStream> {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const ready = typeof separator === "string" ? (text: string) => text.includes(separator) : separator;
  let text = "";
  while (!ready(text)) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  return {
    head: text,
    async finish() {
      let cut = false;
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += value;
        }
      } catch {
        cut = true; // the server destroyed the connection mid-stream
      }
      return { text, cut };
    },
  };
}

/** The records of an NDJSON text (empty lines skipped). */
export function ndjsonRecords<T>(text: string): T[] {
  return text
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as T);
}
