import { networkInterfaces } from "node:os";
import { isIP } from "node:net";
import type { MiddlewareHandler } from "hono";
import { isLoopbackHost, isPrivateAddress } from "../../lib/addresses.js";
import { AppError } from "../../errors.js";
import type { AppEnv } from "../app-env.js";

export interface HostCheckOptions {
  /** Extra accepted Host names (config `server.allowed_hosts`), compared case-insensitively. */
  allowedHosts: readonly string[];
  /** The address the server binds. On a non-loopback bind the check is skipped, as Ollama does. */
  bindHost: string;
}

/** `host[:port]`, `[v6]:port` or `[v6]` → the bare host, lower-cased. */
function hostOnly(header: string): string {
  const value = header.trim().toLowerCase();
  if (value.startsWith("[")) {
    const end = value.indexOf("]");
    return end < 0 ? value : value.slice(1, end);
  }
  const colon = value.indexOf(":");
  // More than one colon without brackets is a bare IPv6 literal, not host:port.
  if (colon >= 0 && value.indexOf(":", colon + 1) < 0) return value.slice(0, colon);
  return value;
}

function isLocalInterfaceAddress(ip: string): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) if (entry.address.toLowerCase() === ip.toLowerCase()) return true;
  }
  return false;
}

/**
 * Whether a Host header names this machine. Follows Ollama's allowedHostsMiddleware: IP literals
 * that are not public (loopback, private, link-local, unspecified…) or one of this machine's addresses pass (rebinding
 * needs a *name* the attacker controls, so literals are safe); names must be localhost,
 * *.localhost, or configured. Everything else is a DNS-rebinding attempt until proven otherwise.
 */
export function isAllowedHost(header: string | undefined, allowedHosts: ReadonlySet<string>): boolean {
  // HTTP/1.0 clients may send no Host at all; there is then no name to rebind.
  if (header === undefined || header === "") return true;
  const host = hostOnly(header);
  if (isIP(host) !== 0) return isPrivateAddress(host) || isLocalInterfaceAddress(host);
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  return allowedHosts.has(host);
}

/** Rejects requests whose Host header is not this machine (403 `forbidden_host`): DNS rebinding. */
export function hostCheck(options: HostCheckOptions): MiddlewareHandler<AppEnv> {
  const allowed = new Set(options.allowedHosts.map((h) => hostOnly(h)));
  const enforce = isLoopbackHost(options.bindHost);
  return async (c, next) => {
    if (enforce && !isAllowedHost(c.req.header("host"), allowed)) {
      throw new AppError("forbidden_host", "forbidden: host not allowed");
    }
    await next();
  };
}
