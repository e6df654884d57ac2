/**
 * `GET /api/auth/local/identity?challenge=…`: proves to the `aixcl` CLI that this is the server
 * of its home before the CLI sends the local token (see src/api/identity-client.ts). Open to
 * anyone: the answer is an HMAC of a caller-chosen challenge bound to the port the request came
 * in on, which reveals nothing about the token and is worthless on any other port.
 */
import { Hono } from "hono";
import type { IdentityWire } from "../../../api/identity-client.js";
import { identityChallengeSchema } from "../../../api/identity-client.js";
import type { LocalToken } from "../../../auth/local-token.js";
import { AppError } from "../../../errors.js";
import type { AppEnv } from "../../app-env.js";

export function localIdentityRoutes(localToken: LocalToken): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/identity", (c) => {
    const challenge = identityChallengeSchema.safeParse(c.req.query("challenge"));
    if (!challenge.success) {
      throw new AppError("invalid_request", "challenge: 22-86 base64url characters required", {
        param: "challenge",
      });
    }
    // The port this connection reached, not the configured one: a relay on another port fails.
    const port = c.env?.incoming?.socket.localPort;
    if (port === undefined) throw new AppError("not_found", "404 page not found");
    const wire: IdentityWire = { proof: localToken.prove(challenge.data, port) };
    c.header("Cache-Control", "no-store");
    return c.json(wire);
  });
  return app;
}
