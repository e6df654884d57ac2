/**
 * A loopback registry speaking the Docker-Registry-v2 protocol as registry.ollama.ai does:
 * manifests (Docker content type + Docker-Content-Digest), blob GETs answered with a `307` to a
 * second server (the "CDN", another port, so another host) that serves the bytes with `Range`
 * support, and an optional `401` bearer challenge with a token endpoint. Hooks cut a transfer
 * after N bytes, corrupt a byte, and count what was served, for the pull tests and bench.
 */
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

const MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json";

type Source = { data: Buffer } | { path: string; size: number } | { zeros: number };

interface LayerInput {
  mediaType: string;
  /**
   * Bytes, a file served from disk, or `zeros` bytes of zeros made in memory (a GiB-sized blob
   * without reading a GiB from disk, twice: to hash it and to serve it).
   */
  data: Buffer | { path: string } | { zeros: number };
}

/** Zeros served and hashed a slice at a time. */
const ZEROS = Buffer.alloc(4 << 20);

function* zeroChunks(start: number, end: number): Generator<Buffer> {
  for (let at = start; at <= end; at += ZEROS.length)
    yield ZEROS.subarray(0, Math.min(ZEROS.length, end + 1 - at));
}

export interface RegistryOptions {
  /** Require a bearer token (obtained from the realm) on manifest and blob requests. */
  auth?: boolean;
}

export interface LoopbackRegistry {
  /** `127.0.0.1:<port>` of the registry. */
  host: string;
  /** `127.0.0.1:<port>` of the CDN the blobs redirect to. */
  cdnHost: string;
  /** Adds a blob (digest computed here); returns the layer descriptor. */
  addBlob(input: LayerInput): Promise<{ mediaType: string; digest: string; size: number }>;
  /** Serves `manifest` (bytes as given, so tests can send hostile ones) at `<repo>:<tag>`. */
  setManifest(repo: string, tag: string, manifest: Buffer | object): Buffer;
  /** Adds the layers plus a config blob and serves a manifest naming them; returns its bytes. */
  addModel(repo: string, tag: string, layers: LayerInput[]): Promise<Buffer>;
  /** Overrides the token realm URL the 401 challenge names (to point it at another host). */
  setRealm(url: string | undefined): void;
  /**
   * After `bytes` more bytes of `digest` are served, every transfer of it is cut (once); with
   * `times`, again after each further `bytes` bytes, that many times in all. The bytes before a cut
   * are flushed first; `reset` ends the connection with a TCP RST instead of a FIN.
   */
  cutAfter(digest: string, bytes: number, options?: { times?: number; reset?: boolean }): void;
  /** Answers the next `times` CDN requests for `digest` with `status` (e.g. 503). */
  failNext(digest: string, status: number, times: number): void;
  /** Serves `digest` with one byte flipped (its content no longer matches the digest). */
  corrupt(digest: string, enabled: boolean): void;
  /** Holds every CDN transfer of `digest` (after its headers) until the returned function is called. */
  hold(digest: string): () => void;
  /** Bytes of `digest` the CDN has sent. */
  bytesServed(digest: string): number;
  /** Requests the CDN received, with the Authorization header each carried. */
  cdnRequests: { path: string; authorization: string | undefined; range: string | undefined }[];
  /** Token requests the realm received. */
  tokenRequests: number;
  /** Connections accepted by the registry and by the CDN. */
  accepted: { registry: number; cdn: number };
  /** Remote `address:port` of every connection the registry or the CDN accepted. */
  peers: string[];
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function sourceSize(source: Source): number {
  if ("data" in source) return source.data.length;
  return "zeros" in source ? source.zeros : source.size;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<LoopbackRegistry> {
  const blobs = new Map<string, Source>();
  const manifests = new Map<string, Buffer>();
  const served = new Map<string, number>();
  const corrupted = new Set<string>();
  const cuts = new Map<string, { left: number; every: number; times: number; reset: boolean }>();
  const failures = new Map<string, { status: number; times: number }>();
  const active = new Map<string, Set<ServerResponse>>();
  const holds = new Map<string, Promise<void>>();
  const token = randomBytes(16).toString("hex");
  let realm: string | undefined;

  const cdn = createServer((req, res) => void serveBlob(req, res));
  const registry = createServer((req, res) => serveRegistry(req, res));
  const cdnHost = await listen(cdn);
  const host = await listen(registry);
  const accepted = { registry: 0, cdn: 0 };
  const peers: string[] = [];
  for (const [server, kind] of [
    [registry, "registry"],
    [cdn, "cdn"],
  ] as const) {
    server.on("connection", (socket: Socket) => {
      accepted[kind]++;
      peers.push(`${socket.remoteAddress}:${socket.remotePort}`);
    });
  }

  const state: LoopbackRegistry = {
    host,
    cdnHost,
    cdnRequests: [],
    tokenRequests: 0,
    accepted,
    peers,
    async addBlob(input) {
      let source: Source;
      let hex: string;
      if (Buffer.isBuffer(input.data)) {
        source = { data: input.data };
        hex = createHash("sha256").update(input.data).digest("hex");
      } else if ("zeros" in input.data) {
        source = { zeros: input.data.zeros };
        const hash = createHash("sha256");
        for (const chunk of zeroChunks(0, source.zeros - 1)) hash.update(chunk);
        hex = hash.digest("hex");
      } else {
        const hash = createHash("sha256");
        for await (const chunk of createReadStream(input.data.path, { highWaterMark: 4 << 20 }))
          hash.update(chunk as Buffer);
        hex = hash.digest("hex");
        source = { path: input.data.path, size: (await stat(input.data.path)).size };
      }
      const digest = `sha256:${hex}`;
      blobs.set(digest, source);
      return { mediaType: input.mediaType, digest, size: sourceSize(source) };
    },
    setManifest(repo, tag, manifest) {
      const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
      manifests.set(`${repo}:${tag}`, bytes);
      return bytes;
    },
    async addModel(repo, tag, layers) {
      const entries = [];
      for (const layer of layers) entries.push(await state.addBlob(layer));
      const config = await state.addBlob({
        mediaType: "application/vnd.docker.container.image.v1+json",
        data: Buffer.from(JSON.stringify({ model_format: "gguf", model_family: "llama", os: "linux" })),
      });
      return state.setManifest(repo, tag, {
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config,
        layers: entries,
      });
    },
    setRealm(url) {
      realm = url;
    },
    cutAfter(digest, bytes, options = {}) {
      cuts.set(digest, {
        left: bytes,
        every: bytes,
        times: options.times ?? 1,
        reset: options.reset === true,
      });
    },
    failNext(digest, status, times) {
      failures.set(digest, { status, times });
    },
    corrupt(digest, enabled) {
      if (enabled) corrupted.add(digest);
      else corrupted.delete(digest);
    },
    hold(digest) {
      let release!: () => void;
      holds.set(digest, new Promise<void>((resolve) => (release = resolve)));
      return () => {
        holds.delete(digest);
        release();
      };
    },
    bytesServed: (digest) => served.get(digest) ?? 0,
    async close() {
      cdn.closeAllConnections();
      registry.closeAllConnections();
      await Promise.all([new Promise((r) => cdn.close(r)), new Promise((r) => registry.close(r))]);
    },
  };

  function challenge(res: ServerResponse, repo: string): void {
    const url = realm ?? `http://${host}/token`;
    res.writeHead(401, {
      "Content-Type": "application/json",
      "WWW-Authenticate": `Bearer realm="${url}",service="loopback",scope="repository:${repo}:pull"`,
    });
    res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
  }

  function serveRegistry(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", `http://${host}`);
    if (url.pathname === "/token") {
      state.tokenRequests++;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() }),
      );
      return;
    }
    if (url.pathname === "/v2/") {
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
      return;
    }
    const match = /^\/v2\/([^/]+\/[^/]+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (!match || (req.method !== "GET" && req.method !== "HEAD")) {
      res.writeHead(404, { "Content-Type": "application/json" }).end('{"errors":[{"code":"NOT_FOUND"}]}');
      return;
    }
    const [, repo, kind, ref] = match as unknown as [string, string, string, string];
    if (options.auth && req.headers.authorization !== `Bearer ${token}`) return challenge(res, repo);
    if (kind === "manifests") {
      const bytes = manifests.get(`${repo}:${ref}`);
      if (!bytes) {
        res.writeHead(404, { "Content-Type": "application/json" });
        res.end('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}');
        return;
      }
      res.writeHead(200, {
        "Content-Type": MANIFEST_TYPE,
        "Content-Length": bytes.length,
        "Docker-Content-Digest": `sha256:${createHash("sha256").update(bytes).digest("hex")}`,
      });
      res.end(req.method === "HEAD" ? undefined : bytes);
      return;
    }
    if (!blobs.has(ref)) {
      res.writeHead(404, { "Content-Type": "application/json" }).end('{"errors":[{"code":"BLOB_UNKNOWN"}]}');
      return;
    }
    // Like registry.ollama.ai: a signed, short-lived URL on the CDN's host.
    const location = `http://${cdnHost}/blobs/${ref}?expires=${Date.now() + 60_000}&sig=${randomBytes(8).toString("hex")}`;
    res.writeHead(307, { Location: location, "Content-Length": 0 }).end();
  }

  async function serveBlob(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", `http://${cdnHost}`);
    state.cdnRequests.push({
      path: url.pathname,
      authorization: req.headers.authorization,
      range: req.headers.range,
    });
    const digest = url.pathname.replace(/^\/blobs\//, "");
    const source = blobs.get(digest);
    if (!source || req.method !== "GET") {
      res.writeHead(404).end();
      return;
    }
    const failure = failures.get(digest);
    if (failure && failure.times > 0) {
      failure.times--;
      res.writeHead(failure.status, { "Content-Type": "text/plain" }).end("unavailable");
      return;
    }
    const size = sourceSize(source);
    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    if (req.headers.range && !range) {
      res.writeHead(416, { "Content-Range": `bytes */${size}` }).end();
      return;
    }
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end) {
        res.writeHead(416, { "Content-Range": `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, {
        "Content-Type": "application/octet-stream",
        "Content-Length": end - start + 1,
        "Content-Range": `bytes ${start}-${end}/${size}`,
        "Accept-Ranges": "bytes",
      });
    } else {
      res.writeHead(200, {
        "Content-Type": "application/octet-stream",
        "Content-Length": size,
        "Accept-Ranges": "bytes",
      });
    }
    const set = active.get(digest) ?? new Set<ServerResponse>();
    active.set(digest, set);
    set.add(res);
    await holds.get(digest);
    const flipAt = Math.floor(size / 2);
    const body =
      "data" in source
        ? [source.data.subarray(start, end + 1)]
        : "zeros" in source
          ? zeroChunks(start, end)
          : createReadStream(source.path, { start, end, highWaterMark: 256 * 1024 });
    let offset = start;
    try {
      for await (const raw of body) {
        let chunk = raw as Buffer;
        if (corrupted.has(digest) && flipAt >= offset && flipAt < offset + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[flipAt - offset] = (chunk[flipAt - offset] as number) ^ 0xff;
        }
        const cut = cuts.get(digest);
        if (cut !== undefined && chunk.length >= cut.left) {
          // Send what the budget allows, then drop every transfer of this blob mid-body. The
          // response's bytes are flushed first (Node corks them until the next tick), so the
          // client really received every byte counted as served.
          const budget = cut.left;
          cut.times--;
          cut.left = cut.every;
          if (cut.times <= 0) cuts.delete(digest);
          served.set(digest, (served.get(digest) ?? 0) + budget);
          await new Promise<void>((resolve) => res.write(chunk.subarray(0, budget), () => resolve()));
          for (const other of set) {
            if (cut.reset) other.socket?.resetAndDestroy();
            else other.destroy();
          }
          return;
        }
        if (cut !== undefined) cut.left -= chunk.length;
        served.set(digest, (served.get(digest) ?? 0) + chunk.length);
        offset += chunk.length;
        if (!res.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              res.off("drain", done);
              res.off("close", done);
              resolve();
            };
            res.on("drain", done);
            res.on("close", done);
          });
        }
        if (res.destroyed) return;
      }
      res.end();
    } catch {
      res.destroy();
    } finally {
      set.delete(res);
      if ("destroy" in body) body.destroy();
    }
  }

  return state;
}
