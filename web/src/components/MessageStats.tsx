import type { MessageStats as Stats } from "../api/types";

const seconds = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`);

/** An answer's timings, revealed when the message is hovered or focused (see chat.css). */
export function MessageStats({ stats }: { stats: Stats }) {
  return (
    <span class="message-stats" data-testid="message-stats">
      <span title="Generation speed">{stats.tokens_per_second.toFixed(1)} tok/s</span>
      <span title="Time to first token">TTFT {seconds(stats.ttft_ms)}</span>
      <span title="Prompt and answer tokens">
        {stats.prompt_tokens} → {stats.completion_tokens} tokens
      </span>
      <span title="Total time">{seconds(stats.total_ms)}</span>
    </span>
  );
}
