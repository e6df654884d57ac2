/**
 * Pulls through an HTTP CONNECT proxy (the loopback proxy in test/support/proxy.ts): the registry
 * and its CDN see only the proxy's connections; NO_PROXY sends a host around it; the settings come
 * from HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case) through config loading only; TLS to the
 * registry runs inside the tunnel and is verified there.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/logger.js";
import { blobPath, parseDigest } from "../../src/models/manifest.js";
import { createHostPolicy } from "../../src/models/pull/policy.js";
import { createProxySelector } from "../../src/models/pull/proxy.js";
import { createPuller, type Puller } from "../../src/models/pull/puller.js";
import { createTransport } from "../../src/models/pull/transport.js";
import { createModelStore } from "../../src/models/store.js";
import { rejectedAppError } from "../support/app-error.js";
import { startProxy, type LoopbackProxy } from "../support/proxy.js";
import { startUntrustedTlsServer } from "../support/self-signed.js";
import { startRegistry, type LoopbackRegistry } from "../support/registry.js";

const MODEL = "application/vnd.ollama.image.model";

let registry: LoopbackRegistry;
let proxy: LoopbackProxy;
const dirs: string[] = [];
const pullers: Puller[] = [];

beforeAll(async () => {
  registry = await startRegistry({ auth: true });
  proxy = await startProxy();
});

afterEach(() => {
  for (const p of pullers.splice(0)) p.close();
});

afterAll(async () => {
  await registry?.close();
  await proxy?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function pullerWith(flags: Record<string, unknown>) {
  const home = await mkdtemp(join(tmpdir(), "aixcl-proxy-"));
  dirs.push(home);
  const hosts = [registry.host, registry.cdnHost];
  const config = loadConfig({
    flags: { home, "registry.insecure": hosts, "registry.allow_private": hosts, ...flags },
    env: {},
    readFile: false,
  });
  const root = join(home, "models");
  const puller = createPuller({ store: createModelStore({ root }), config, logger: silentLogger() });
  pullers.push(puller);
  return { puller, root };
}

describe("pulls through a proxy", () => {
  it("tunnels the registry, its token realm and its CDN through CONNECT", async () => {
    const bytes = Buffer.from(`through the proxy ${Date.now()}`);
    const layer = await registry.addBlob({ mediaType: MODEL, data: bytes });
    registry.setManifest("proxy/model", "latest", { schemaVersion: 2, config: layer, layers: [layer] });
    const { puller, root } = await pullerWith({ "registry.http_proxy": proxy.url });
    const peersBefore = registry.peers.length;
    const connectsBefore = proxy.connects.length;
    await puller.pull(`${registry.host}/proxy/model`, {}, () => undefined);
    expect(await readFile(blobPath(root, parseDigest(layer.digest)))).toEqual(bytes);
    // The registry (manifest, token) and the CDN (blobs) were reached through tunnels only.
    expect(new Set(proxy.connects.slice(connectsBefore))).toEqual(new Set([registry.host, registry.cdnHost]));
    const peers = registry.peers.slice(peersBefore);
    expect(peers.length).toBeGreaterThan(0);
    expect(peers.every((peer) => proxy.outbound.includes(peer))).toBe(true);
    expect(registry.tokenRequests).toBeGreaterThan(0);
  });

  it("goes around the proxy for hosts in NO_PROXY", async () => {
    await registry.addModel("proxy/direct", "latest", [
      { mediaType: MODEL, data: Buffer.from(`direct ${Date.now()}`) },
    ]);
    const { puller } = await pullerWith({
      "registry.http_proxy": proxy.url,
      "registry.no_proxy": ["example.com", "127.0.0.0/8"],
    });
    const connectsBefore = proxy.connects.length;
    const peersBefore = registry.peers.length;
    await puller.pull(`${registry.host}/proxy/direct`, {}, () => undefined);
    expect(proxy.connects.length).toBe(connectsBefore);
    const peers = registry.peers.slice(peersBefore);
    expect(peers.length).toBeGreaterThan(0);
    expect(peers.some((peer) => proxy.outbound.includes(peer))).toBe(false);
  });

  it("matches NO_PROXY as Go does: *, domain suffixes, addresses, CIDR ranges and ports", () => {
    const via = (noProxy: string[], url: string) =>
      createProxySelector({ httpsProxy: "proxy:3128", noProxy })(new URL(url))?.href;
    const proxied = "http://proxy:3128/";
    expect(via([], "https://registry.ollama.ai/v2/")).toBe(proxied);
    expect(via(["*"], "https://registry.ollama.ai/v2/")).toBeUndefined();
    for (const entry of ["ollama.ai", ".ollama.ai", "*.ollama.ai"]) {
      expect(via([entry], "https://registry.ollama.ai/")).toBeUndefined();
      expect(via([entry], "https://notollama.ai/")).toBe(proxied);
    }
    expect(via(["ollama.ai"], "https://ollama.ai/")).toBeUndefined();
    expect(via(["registry.ollama.ai:8443"], "https://registry.ollama.ai/")).toBe(proxied);
    expect(via(["registry.ollama.ai:443"], "https://registry.ollama.ai/")).toBeUndefined();
    expect(via(["10.0.0.0/8"], "https://10.1.2.3/")).toBeUndefined();
    expect(via(["10.0.0.0/8"], "https://11.1.2.3/")).toBe(proxied);
    expect(via(["::1"], "https://[::1]:5000/")).toBeUndefined();
    // http URLs use the http proxy, of which there is none here.
    expect(via([], "http://registry.ollama.ai/")).toBeUndefined();
  });

  it("reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY (upper case over lower case) in config loading", () => {
    const config = loadConfig({
      flags: { home: "/nonexistent" },
      env: {
        https_proxy: "http://lower:1",
        HTTPS_PROXY: "http://upper:2",
        http_proxy: "lower:3",
        no_proxy: "a.example, 10.0.0.0/8",
      },
      readFile: false,
    });
    expect(config.registry.https_proxy).toBe("http://upper:2");
    expect(config.registry.http_proxy).toBe("lower:3");
    expect(config.registry.no_proxy).toEqual(["a.example", "10.0.0.0/8"]);
    expect(() =>
      loadConfig({ flags: { home: "/nonexistent" }, env: { HTTPS_PROXY: "socks5://x:1" }, readFile: false }),
    ).toThrow(/registry\.https_proxy/);
  });

  it("speaks TLS to the registry inside the tunnel and verifies its certificate there", async () => {
    const server = await startUntrustedTlsServer();
    const { port } = server;
    const policy = createHostPolicy({ insecure: [], allowPrivate: ["127.0.0.1"] });
    const transport = createTransport({
      lookupFor: (url) => policy.lookupFor(url),
      proxyFor: createProxySelector({ httpsProxy: proxy.url, noProxy: [] }),
    });
    try {
      const connectsBefore = proxy.connects.length;
      const error = await rejectedAppError(
        transport.get(new URL(`https://127.0.0.1:${port}/`), {}, AbortSignal.timeout(10_000)),
      );
      expect(proxy.connects.slice(connectsBefore)).toEqual([`127.0.0.1:${port}`]);
      expect(error.message).toMatch(/self[- ]signed|certificate/i);
    } finally {
      transport.close();
      await server.close();
    }
  });
});
