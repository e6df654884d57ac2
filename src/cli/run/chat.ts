import type { ApiClient } from "../../api/client.js";
import type { ChatChunkWire } from "../../api/ollama/responses.js";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface Reply {
  content: string;
  /** The final chunk (timings and counts), when the stream got that far. */
  final?: ChatChunkWire;
}

/**
 * Streams one assistant reply to `write` as tokens arrive and returns the whole text. The
 * reply always ends the line it was printed on, so the next prompt starts on its own line.
 */
export async function streamReply(
  client: ApiClient,
  model: string,
  messages: ChatMessage[],
  write: (text: string) => Promise<void>,
  signal?: AbortSignal,
): Promise<Reply> {
  let content = "";
  let final: ChatChunkWire | undefined;
  try {
    for await (const chunk of client.chat({ model, messages }, signal)) {
      if (chunk.message.content !== "") {
        content += chunk.message.content;
        await write(chunk.message.content);
      }
      if (chunk.done) final = chunk;
    }
  } finally {
    if (content !== "" && !content.endsWith("\n")) await write("\n");
  }
  return final ? { content, final } : { content };
}

const seconds = (ns: number): string => `${(ns / 1e9).toFixed(3)}s`;
const rate = (count: number, ns: number): string =>
  ns > 0 ? `${((count * 1e9) / ns).toFixed(2)} tokens/s` : "-";

/** `ollama run --verbose` statistics for one reply. */
export function formatStats(final: ChatChunkWire): string {
  const rows: [string, string][] = [
    ["total duration", seconds(final.total_duration ?? 0)],
    ["load duration", seconds(final.load_duration ?? 0)],
    ["prompt eval count", `${final.prompt_eval_count ?? 0} token(s)`],
    ["prompt eval duration", seconds(final.prompt_eval_duration ?? 0)],
    ["prompt eval rate", rate(final.prompt_eval_count ?? 0, final.prompt_eval_duration ?? 0)],
    ["eval count", `${final.eval_count ?? 0} token(s)`],
    ["eval duration", seconds(final.eval_duration ?? 0)],
    ["eval rate", rate(final.eval_count ?? 0, final.eval_duration ?? 0)],
  ];
  return rows.map(([key, value]) => `${`${key}:`.padEnd(22)}${value}`).join("\n");
}
