/** A small status word with a colour by meaning (ok, warn, bad, muted), never colour alone. */
export type Tone = "ok" | "warn" | "bad" | "muted";

export function Badge({ tone, children }: { tone: Tone; children: string }) {
  return <span class={`badge badge-${tone}`}>{children}</span>;
}

/** The tone of a status word the server sends. */
export function toneOf(status: string): Tone {
  if (status === "ok" || status === "active" || status === "success") return "ok";
  if (status === "degraded" || status === "pending" || status === "sealed" || status === "expired")
    return "warn";
  if (status === "down" || status === "error" || status === "disabled" || status === "revoked") return "bad";
  return "muted";
}
