/**
 * Which proxy a registry URL goes through, from `registry.https_proxy`, `registry.http_proxy` and
 * `registry.no_proxy` (set from HTTPS_PROXY, HTTP_PROXY and NO_PROXY by src/config/load.ts). The
 * matching follows Go's golang.org/x/net/http/httpproxy, which Ollama uses: `*` bypasses every
 * host; an entry matches the host and its subdomains (`example.com`, `.example.com` and
 * `*.example.com` alike), an IP address or CIDR range matches addresses, and `host:port` matches
 * that port only. Unlike Go, loopback hosts are not exempt by themselves: a proxy setting is
 * explicit configuration, and NO_PROXY says which hosts bypass it.
 */
import { BlockList, isIP } from "node:net";
import { AppError } from "../../errors.js";

export interface ProxySettings {
  /** Proxy URL for https registries and CDNs. */
  httpsProxy?: string | undefined;
  /** Proxy URL for http registries and CDNs. */
  httpProxy?: string | undefined;
  /** Hosts that bypass the proxy. */
  noProxy: readonly string[];
}

/** The proxy `url` goes through, or undefined for a direct connection. */
export type ProxySelector = (url: URL) => URL | undefined;

/** Parses a proxy setting; a bare `host:port` means http, as Go reads it. */
function parseProxyUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    throw new AppError("config_invalid", `invalid proxy URL ${JSON.stringify(value)}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AppError("config_invalid", `unsupported proxy scheme ${url.protocol} (use http or https)`);
  }
  if (url.hostname === "") throw new AppError("config_invalid", `proxy URL without a host: ${value}`);
  return url;
}

interface Rule {
  /** Lower-case host name (no leading dot): it and its subdomains match. */
  domain?: string;
  /** An IP address or CIDR range: literal addresses in it match. */
  addresses?: BlockList;
  /** Only this port matches, when given. */
  port?: string;
}

function parseRule(entry: string): Rule | undefined {
  let text = entry.trim().toLowerCase();
  if (text === "") return undefined;
  const cidr = /^(.+)\/(\d{1,3})$/.exec(text);
  if (cidr?.[1] && cidr[2] && isIP(cidr[1]) !== 0) {
    const addresses = new BlockList();
    addresses.addSubnet(cidr[1], Number(cidr[2]), isIP(cidr[1]) === 6 ? "ipv6" : "ipv4");
    return { addresses };
  }
  let port: string | undefined;
  const withPort = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (withPort?.[1] && withPort[2]) {
    text = withPort[1];
    port = withPort[2];
  }
  text = text.replace(/^\[|\]$/g, "");
  if (isIP(text) !== 0) {
    const addresses = new BlockList();
    addresses.addAddress(text, isIP(text) === 6 ? "ipv6" : "ipv4");
    return { addresses, ...(port ? { port } : {}) };
  }
  const domain = text.replace(/^\*?\./, "");
  return domain === "" ? undefined : { domain, ...(port ? { port } : {}) };
}

function defaultPort(url: URL): string {
  return url.port || (url.protocol === "https:" ? "443" : "80");
}

export function createProxySelector(settings: ProxySettings): ProxySelector {
  const https = settings.httpsProxy ? parseProxyUrl(settings.httpsProxy) : undefined;
  const http = settings.httpProxy ? parseProxyUrl(settings.httpProxy) : undefined;
  const bypassAll = settings.noProxy.some((entry) => entry.trim() === "*");
  const rules = settings.noProxy.flatMap((entry) => parseRule(entry) ?? []);

  const bypassed = (url: URL): boolean => {
    if (bypassAll) return true;
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const family = isIP(host);
    const port = defaultPort(url);
    return rules.some((rule) => {
      if (rule.port !== undefined && rule.port !== port) return false;
      if (rule.addresses) return family !== 0 && rule.addresses.check(host, family === 6 ? "ipv6" : "ipv4");
      return rule.domain !== undefined && (host === rule.domain || host.endsWith(`.${rule.domain}`));
    });
  };

  return (url) => {
    const proxy = url.protocol === "https:" ? https : http;
    if (proxy === undefined || bypassed(url)) return undefined;
    return proxy;
  };
}
