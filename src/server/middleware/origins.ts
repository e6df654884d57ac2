import { isLoopbackHost } from "../../lib/addresses.js";

/**
 * Which browser origins may call the API: loopback origins on any port (http or https, like
 * Ollama's defaults) plus the exact origins configured in `server.cors_origins`.
 */
export function createOriginPolicy(configured: readonly string[]): (origin: string) => boolean {
  const exact = new Set(configured.map((o) => o.trim().toLowerCase().replace(/\/+$/, "")));
  return (origin) => {
    const normalized = origin.trim().toLowerCase();
    if (exact.has(normalized)) return true;
    let url: URL;
    try {
      url = new URL(normalized);
    } catch {
      // "null" (sandboxed frames, file://) and garbage are never loopback.
      return false;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    const host = url.hostname;
    return isLoopbackHost(host) || host.endsWith(".localhost");
  };
}
