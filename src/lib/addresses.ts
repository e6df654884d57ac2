/**
 * What kind of address a host or IP literal is. One implementation for every check that depends on
 * it: the loopback-only defaults (bind address, database URL, cookies, the unseal route), the Host
 * header check against DNS rebinding, and the pull's refusal of private addresses (SSRF).
 */
import { BlockList, isIP } from "node:net";

/** `[::1]` → `::1`, lower case (host names are case-insensitive). */
function bare(host: string): string {
  return host.replace(/^\[|\]$/g, "").toLowerCase();
}

/** The IPv4 address inside an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`), else the input. */
function unmapped(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** `localhost`, 127.0.0.0/8 or ::1 (also bracketed or IPv4-mapped). */
export function isLoopbackHost(host: string): boolean {
  const name = unmapped(bare(host));
  if (name === "localhost") return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  if (isIP(name) === 6) return name === "::1";
  return false;
}

/**
 * Loopback, private, link-local, shared (CGNAT), benchmark, multicast, reserved and unspecified
 * ranges: every address that is not a public host on the internet.
 */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv4");
}
for (const [net, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, "ipv6");
}

/** True for an IP literal in a non-public range (see PRIVATE); false for names and public IPs. */
export function isPrivateAddress(address: string): boolean {
  const ip = unmapped(bare(address));
  const family = isIP(ip);
  if (family === 0) return false;
  return PRIVATE.check(ip, family === 4 ? "ipv4" : "ipv6");
}
