import type { Context } from "hono";
import type { Actor } from "../../../auth/users.js";
import type { AppEnv } from "../../app-env.js";

/** Longest client-supplied header value kept in the audit log. */
const MAX_HEADER_KEPT = 256;

/**
 * The peer address of the connection. X-Forwarded-For is not used for limits or identity: any
 * client can send it, so trusting it would let one client pose as many addresses.
 */
export function clientAddress(c: Context<AppEnv>): string {
  return c.env?.incoming?.socket.remoteAddress ?? "unknown";
}

/** A client header as plain text for the record, bounded in size (it is attacker-controlled). */
export function headerForRecord(c: Context<AppEnv>, name: string): string | undefined {
  return c.req.header(name)?.slice(0, MAX_HEADER_KEPT);
}

/** The audit actor of an authenticated request (its user, or how it authenticated). */
export function actorOf(c: Context<AppEnv>): Actor {
  const principal = c.get("principal");
  return {
    id: principal?.userId,
    name: principal?.username ?? principal?.via ?? "anonymous",
    address: clientAddress(c),
  };
}
