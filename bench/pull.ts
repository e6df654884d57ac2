/**
 * `npm run bench:pull`: pulling a large blob from the loopback registry (307 to its CDN host,
 * parallel Range parts over kept-alive connections, SHA-256 while downloading, written to the
 * store) against a raw HTTP download of the same bytes from the same CDN to nowhere, in
 * interleaved rounds of the same run, on two links:
 *
 * - direct: loopback, no added latency;
 * - proxy: through a CONNECT proxy that delays every chunk by AIXCL_BENCH_LATENCY_MS (default 20)
 *   in each direction, with an 8 MiB window per direction, on a link of AIXCL_BENCH_LINK_MBS
 *   MB/s (default 125, a 1 Gbit/s line) that all connections share (test/support/proxy.ts). The
 *   raw download goes through the same proxy, so round trips per part (redirects, new
 *   connections, tunnels) are what the ratio measures; the cap keeps the link, not this
 *   machine's two cores, the bottleneck, as it is for a real download.
 *
 * Prints MB/s per round and the ratio of medians per link (target ≥ 0.9 on both). The registry
 * and the proxy run in a child process (this file with `serve`), as a real registry is not in the
 * puller's process. AIXCL_BENCH_PULL_MIB sets the blob size (default 1024), AIXCL_BENCH_ROUNDS
 * the rounds (default 3).
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { open, mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/load.js";
import { silentLogger } from "../src/logger.js";
import { createPuller } from "../src/models/pull/puller.js";
import { createModelStore } from "../src/models/store.js";
import { startProxy } from "../test/support/proxy.js";
import { startRegistry } from "../test/support/registry.js";
import { median, ratio, table } from "./report.js";

const MIB = 1024 * 1024;

interface Served {
  host: string;
  cdnHost: string;
  digest: string;
  proxyUrl: string;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, "w");
  try {
    const chunk = 16 * MIB;
    for (let written = 0; written < bytes; written += chunk) {
      await handle.write(randomBytes(Math.min(chunk, bytes - written)));
    }
  } finally {
    await handle.close();
  }
}

/** A CONNECT tunnel through `proxy` to `authority`. */
async function tunnel(proxy: URL, authority: string): Promise<Socket> {
  const socket = connect({ host: proxy.hostname, port: Number(proxy.port) });
  await once(socket, "connect");
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let head = "";
  while (!head.includes("\r\n\r\n")) {
    const [chunk] = (await once(socket, "data")) as [Buffer];
    head += chunk.toString("latin1");
  }
  if (!head.startsWith("HTTP/1.1 200")) throw new Error(`proxy refused: ${head.split("\r\n")[0]}`);
  // Not paused: the HTTP client reads it by adding a 'data' listener, which does not resume a
  // paused socket (the download would hang). Nothing arrives before the request is sent.
  return socket;
}

/** GET `url` (through `proxy` when given) and discard the body; resolves with the byte count. */
async function rawDownload(url: string, proxy?: URL): Promise<number> {
  const target = new URL(url);
  const socket = proxy ? await tunnel(proxy, target.host) : undefined;
  return new Promise((resolve, reject) => {
    // No `agent` with createConnection: with `agent: false` Node makes a fresh Agent, which opens
    // its own connection and ignores createConnection, and the "proxied" download went direct.
    const req = request(url, socket ? { createConnection: () => socket } : {}, (res) => {
      let bytes = 0;
      res.on("data", (chunk: Buffer) => (bytes += chunk.length));
      res.on("end", () => resolve(bytes));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Child side: serve `file` as model `bench/blob:latest` until the parent disconnects. */
async function serve(file: string, latencyMs: number, linkMbs: number): Promise<void> {
  const registry = await startRegistry();
  const proxy = await startProxy({ latencyMs, bandwidth: linkMbs * 1e6 });
  const bytes = await registry.addModel("bench/blob", "latest", [
    { mediaType: "application/vnd.ollama.image.model", data: { path: file } },
  ]);
  const digest = (JSON.parse(bytes.toString()) as { layers: { digest: string }[] }).layers[0]?.digest ?? "";
  process.send?.({
    host: registry.host,
    cdnHost: registry.cdnHost,
    digest,
    proxyUrl: proxy.url,
  } satisfies Served);
  process.once("disconnect", () => void Promise.all([registry.close(), proxy.close()]));
}

async function pullOnce(served: Served, home: string, proxy: string | undefined): Promise<void> {
  const hosts = [served.host, served.cdnHost];
  const config = loadConfig({
    flags: {
      home,
      "registry.insecure": hosts,
      "registry.allow_private": hosts,
      ...(proxy ? { "registry.http_proxy": proxy } : {}),
    },
    env: {},
    readFile: false,
  });
  const store = createModelStore({ root: join(home, "models") });
  const puller = createPuller({ store, config, logger: silentLogger() });
  try {
    await puller.pull(`${served.host}/bench/blob`, {}, () => undefined);
  } finally {
    puller.close();
    await store.close();
    await rm(home, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizeMib = Number(process.env.AIXCL_BENCH_PULL_MIB ?? 1024);
  const rounds = Number(process.env.AIXCL_BENCH_ROUNDS ?? 3);
  const latencyMs = Number(process.env.AIXCL_BENCH_LATENCY_MS ?? 20);
  const linkMbs = Number(process.env.AIXCL_BENCH_LINK_MBS ?? 125);
  const work = await mkdtemp(join(tmpdir(), "aixcl-bench-pull-"));
  try {
    const blobFile = join(work, "blob.bin");
    const size = sizeMib * MIB;
    process.stdout.write(`writing ${sizeMib} MiB of random bytes...\n`);
    await writeRandomFile(blobFile, size);
    const child = fork(
      fileURLToPath(import.meta.url),
      ["serve", blobFile, String(latencyMs), String(linkMbs)],
      {
        stdio: "inherit",
      },
    );
    try {
      const [served] = (await once(child, "message")) as [Served];
      const rawUrl = `http://${served.cdnHost}/blobs/${served.digest}`;
      const proxy = new URL(served.proxyUrl);
      // Warm the page cache so neither side pays for the first read of the source file.
      await rawDownload(rawUrl);

      const links = [
        { name: "direct", proxy: undefined, raw: [] as number[], pull: [] as number[] },
        { name: `proxy +${latencyMs} ms, ${linkMbs} MB/s`, proxy, raw: [] as number[], pull: [] as number[] },
      ];
      for (let round = 0; round < rounds; round++) {
        for (const link of links) {
          let start = performance.now();
          const got = await rawDownload(rawUrl, link.proxy);
          if (got !== size) throw new Error(`raw download got ${got} of ${size} bytes`);
          link.raw.push(size / MIB / ((performance.now() - start) / 1000));
          start = performance.now();
          await pullOnce(served, join(work, `home-${round}`), link.proxy?.href);
          link.pull.push(size / MIB / ((performance.now() - start) / 1000));
        }
      }
      for (const link of links) {
        process.stdout.write(
          `${table(`${sizeMib} MiB blob, ${link.name}, MB/s`, [
            { label: "raw HTTP to /dev/null", values: link.raw },
            { label: "pull (parts + sha256 + disk)", values: link.pull },
          ])}\n${ratio(`pull / raw (${link.name})`, median(link.pull), median(link.raw))} (target >= 0.90)\n\n`,
        );
      }
    } finally {
      child.disconnect();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "serve")
  await serve(process.argv[3] ?? "", Number(process.argv[4] ?? 0), Number(process.argv[5] ?? 0));
else await main();
