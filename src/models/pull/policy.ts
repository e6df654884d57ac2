/**
 * Which URLs a pull may touch. Every URL — the manifest, the token realm, each redirect target —
 * is checked here before a connection is made: https only unless the host is listed as insecure,
 * and no loopback/private/link-local address unless the host is listed in `allow_private`. The
 * address check runs in the connection's own DNS lookup, so a host cannot pass the check with one
 * answer and connect with another (DNS rebinding).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import { isIP, type LookupFunction } from "node:net";
import { AppError } from "../../errors.js";
import { isPrivateAddress } from "../../lib/addresses.js";

export interface HostPolicyOptions {
  /** Hosts (`host` or `host:port`) allowed over http. */
  insecure: readonly string[];
  /** Hosts allowed to resolve to loopback/private addresses. */
  allowPrivate: readonly string[];
}

export interface HostPolicy {
  /** Throws AppError forbidden when `url` may not be fetched. `insecure` is the request's own flag. */
  check(url: URL, insecure: boolean): void;
  /** Whether `url`'s host is listed in registry.insecure (its manifest is then fetched over http). */
  isInsecureHost(url: URL): boolean;
  /** A `lookup` for http.request that refuses private answers for hosts not allowed them. */
  lookupFor(url: URL): LookupFunction;
}

function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
}

function listed(list: readonly string[], url: URL): boolean {
  const host = url.host.toLowerCase();
  const name = bareHostname(url);
  return list.some((entry) => {
    const e = entry.toLowerCase();
    return e === host || e === name || e === `[${name}]`;
  });
}

export function createHostPolicy(options: HostPolicyOptions): HostPolicy {
  return {
    isInsecureHost: (url) => listed(options.insecure, url),

    check(url, insecure) {
      if (url.protocol !== "https:" && url.protocol !== "http:") {
        throw new AppError("forbidden", `refusing ${url.protocol} URL from registry`);
      }
      if (url.protocol === "http:" && !insecure && !listed(options.insecure, url)) {
        throw new AppError(
          "forbidden",
          `refusing insecure http connection to ${url.host} (allow it with registry.insecure)`,
        );
      }
      const name = bareHostname(url);
      if (isIP(name) !== 0 && isPrivateAddress(name) && !listed(options.allowPrivate, url)) {
        throw new AppError(
          "forbidden",
          `refusing connection to private address ${url.host} (allow it with registry.allow_private)`,
        );
      }
      if (name === "localhost" && !listed(options.allowPrivate, url)) {
        throw new AppError(
          "forbidden",
          `refusing connection to ${url.host} (allow it with registry.allow_private)`,
        );
      }
    },

    lookupFor(url) {
      const allowed = listed(options.allowPrivate, url);
      const lookup = (
        hostname: string,
        opts: LookupAllOptions,
        callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
      ) => {
        dnsLookup(hostname, { ...opts, all: true }, (error, addresses) => {
          if (error) return callback(error, []);
          const bad = allowed ? undefined : addresses.find((a) => isPrivateAddress(a.address));
          if (bad) {
            return callback(
              new AppError(
                "forbidden",
                `refusing connection to ${hostname}: it resolves to private address ${bad.address}`,
              ),
              [],
            );
          }
          callback(null, addresses);
        });
      };
      // node's http passes `all: false` unless autoSelectFamily is on; answer in the shape asked.
      return ((hostname: string, opts: { all?: boolean }, callback: (...args: unknown[]) => void) => {
        lookup(hostname, { ...opts, all: true }, (error, addresses) => {
          if (error) return callback(error);
          if (opts.all) return callback(null, addresses);
          const first = addresses[0];
          if (!first) return callback(new AppError("forbidden", `no address for ${hostname}`));
          callback(null, first.address, first.family);
        });
      }) as unknown as LookupFunction;
    },
  };
}
