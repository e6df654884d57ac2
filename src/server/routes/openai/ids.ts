import { randomBytes } from "node:crypto";

/** Sent as `system_fingerprint`: identifies the backend, as OpenAI's does its configuration. */
export const SYSTEM_FINGERPRINT = "fp_aixcl";

/** `chatcmpl-…` / `cmpl-…`: unique per response, unguessable so ids never collide across restarts. */
export function completionId(prefix: "chatcmpl" | "cmpl"): string {
  return `${prefix}-${randomBytes(12).toString("hex")}`;
}
