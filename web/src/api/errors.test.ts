import { describe, expect, it } from "vitest";
import { ApiError, describeError, errorFromResponse } from "./errors";

const response = (status: number, body: string, headers: Record<string, string> = {}) =>
  new Response(body, { status, headers });

describe("errorFromResponse", () => {
  it("reads the JSON routes' { error: { code, message } } and Retry-After", async () => {
    const error = await errorFromResponse(
      response(503, JSON.stringify({ error: { code: "queue_full", message: "queue is full" } }), {
        "Retry-After": "7",
      }),
    );
    expect([error.status, error.code, error.message, error.retryAfter]).toEqual([
      503,
      "queue_full",
      "queue is full",
      7,
    ]);
  });

  it("reads the auth routes' { error: '…' } and a body that is not JSON", async () => {
    const auth = await errorFromResponse(
      response(401, JSON.stringify({ error: "invalid username or password" })),
    );
    expect([auth.code, auth.message]).toEqual(["unauthorized", "invalid username or password"]);
    const proxy = await errorFromResponse(response(502, "<html>bad gateway</html>"));
    expect([proxy.code, proxy.message, proxy.retryAfter]).toEqual(["http_error", "502", undefined]);
  });
});

describe("describeError", () => {
  it("says what to do for the errors a chat meets", () => {
    expect(describeError(new ApiError(503, "vault_sealed", "vault is sealed"))).toContain(
      "aixcl vault unseal",
    );
    expect(describeError(new ApiError(503, "queue_full", "queue is full", 5))).toContain("Try again in 5 s");
    expect(describeError(new ApiError(404, "model_not_found", "model 'x' not found"))).toContain(
      "aixcl models add",
    );
    expect(describeError(new TypeError("Failed to fetch"))).toContain("Cannot reach");
  });
});
