/**
 * The wire of `GET /api/auth/local/identity` and the check the CLI runs before it sends this
 * home's local token to a listener: it sends a random challenge (no credential) and accepts the
 * listener only if the answer is the HMAC that the token's holder computes for that challenge and
 * the port it was reached on (src/auth/local-token.ts). Anything else — nothing listening, a
 * timeout, another program, another home's server — is "not this home's server".
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { checkIdentityProof } from "../auth/local-token.js";

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

export type IdentityCheck =
  { verified: true } | { verified: false; why: "unreachable" | "timeout" | "mismatch" };

/**
 * Challenges whatever listens at `baseUrl` (an http URL with an explicit port) to prove it holds
 * `token`. The token is used only to compute the expected answer: it never leaves this process.
 */
export async function checkServerIdentity(baseUrl: string, token: string): Promise<IdentityCheck> {
  const url = new URL(IDENTITY_PATH, baseUrl);
  const port = Number(url.port || 80);
  const challenge = randomBytes(32).toString("base64url");
  url.searchParams.set("challenge", challenge);
  let response: Response;
  try {
    response = await fetch(url, {
      // No redirects: a listener could send the challenge on to a host of its choosing.
      redirect: "manual",
      signal: AbortSignal.timeout(IDENTITY_TIMEOUT_MS),
    });
  } catch (error) {
    const name = (error as Error).name;
    return { verified: false, why: name === "TimeoutError" ? "timeout" : "unreachable" };
  }
  const text = await response.text().catch(() => "");
  if (response.status !== 200) return { verified: false, why: "mismatch" };
  let proof: unknown;
  try {
    proof = (JSON.parse(text) as Partial<IdentityWire>).proof;
  } catch {
    return { verified: false, why: "mismatch" };
  }
  if (typeof proof !== "string" || !checkIdentityProof(token, challenge, port, proof)) {
    return { verified: false, why: "mismatch" };
  }
  return { verified: true };
}
