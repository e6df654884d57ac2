/**
 * `GET /api/auth/local/identity`: open even with `auth.api: required` (the CLI presents no
 * credential before it knows who listens), the answer proves the local token for the challenge
 * and the port it arrived on, and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDENTITY_PATH } from "../../src/api/identity-client.js";
import { checkIdentityProof } from "../../src/auth/local-token.js";
import { checkServerIdentity } from "../../src/cli/admin-session.js";
import { localAdminToken } from "../support/auth-http.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";

describe("local identity challenge", () => {
  let platform: TestPlatform;
  let token: string;
  beforeAll(async () => {
    platform = await startTestPlatform({
      flags: {
        "auth.api": "required",
        "auth.api_key": "a-static-key-for-this-test-0123456789",
        profile: "core",
      },
    });
    token = await localAdminToken(platform.config);
  });
  afterAll(() => platform?.close());

  it("answers an anonymous challenge with a proof bound to the token, the challenge and the port", async () => {
    const challenge = "c".repeat(43);
    const response = await fetch(`${platform.url}${IDENTITY_PATH}?challenge=${challenge}`);
    expect(response.status).toBe(200);
    const { proof } = (await response.json()) as { proof: string };
    expect(proof).not.toContain(token);
    expect(checkIdentityProof(token, challenge, platform.port, proof)).toBe(true);
    expect(checkIdentityProof(token, "d".repeat(43), platform.port, proof)).toBe(false);
    expect(checkIdentityProof(token, challenge, platform.port + 1, proof)).toBe(false);
    expect(checkIdentityProof(`${token}x`, challenge, platform.port, proof)).toBe(false);

    expect(await checkServerIdentity(platform.url, token)).toEqual({ verified: true });
    expect(await checkServerIdentity(platform.url, "another home's token")).toEqual({
      verified: false,
      why: "mismatch",
    });
  });

  it("refuses a missing or malformed challenge", async () => {
    for (const query of ["", "?challenge=short", `?challenge=${"!".repeat(43)}`]) {
      const response = await fetch(`${platform.url}${IDENTITY_PATH}${query}`);
      expect(response.status, query).toBe(400);
      await response.arrayBuffer();
    }
  });
});
