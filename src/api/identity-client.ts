/**
 * The wire of `GET /api/auth/local/identity`, and the request the CLI sends before it sends this
 * home's local token to a listener: a random challenge, no credential. The CLI accepts the
 * listener only if the answer is the HMAC that the token's holder computes for that challenge and
 * the port it was reached on (src/auth/local-token.ts, checked in src/cli/admin-session.ts).
 */
import { z } from "zod";

/** Route of the challenge, relative to the server root. */
export const IDENTITY_PATH = "/api/auth/local/identity";

/** A challenge: 16 to 64 random bytes, base64url (what the CLI sends: 32 bytes). */
export const identityChallengeSchema = z.string().regex(/^[A-Za-z0-9_-]{22,86}$/);

export interface IdentityWire {
  /** base64url HMAC-SHA256 (see identityProof in src/auth/local-token.ts). */
  proof: string;
}

/** How long the CLI waits for a listener to answer the challenge, ms. */
const IDENTITY_TIMEOUT_MS = 5000;

/** What a listener answered to a challenge, or why there is no answer to check. */
export type IdentityAnswer = { proof: string } | { why: "unreachable" | "timeout" | "mismatch" };

/**
 * Sends `challenge` to whatever listens at `baseUrl`, with no credential, and returns the proof
 * it answered (the CLI checks it: src/cli/admin-session.ts). A refusal, a redirect or anything
 * that is not this route's JSON is "mismatch": not an aixcl server of this version.
 */
export async function requestIdentityProof(baseUrl: string, challenge: string): Promise<IdentityAnswer> {
  const url = new URL(IDENTITY_PATH, baseUrl);
  url.searchParams.set("challenge", challenge);
  let response: Response;
  try {
    response = await fetch(url, {
      // No redirects: a listener could send the challenge on to a host of its choosing.
      redirect: "manual",
      signal: AbortSignal.timeout(IDENTITY_TIMEOUT_MS),
    });
  } catch (error) {
    return { why: (error as Error).name === "TimeoutError" ? "timeout" : "unreachable" };
  }
  const text = await response.text().catch(() => "");
  if (response.status !== 200) return { why: "mismatch" };
  try {
    const proof = (JSON.parse(text) as Partial<IdentityWire>).proof;
    return typeof proof === "string" ? { proof } : { why: "mismatch" };
  } catch {
    return { why: "mismatch" };
  }
}
