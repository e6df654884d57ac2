/**
 * `npm run bench:pull`: pulling a large blob from the loopback registry (307 to its CDN host,
 * parallel Range parts, SHA-256 while downloading, written to the store) against a
 * raw HTTP download of the same bytes from the same CDN to nowhere, in interleaved rounds of the
 * same run. Prints MB/s per round and the ratio of medians (target ≥ 0.8). The registry runs in a
 * child process (this file with `serve`), as a real registry is not in the puller's process.
 *
 * AIXCL_BENCH_PULL_MIB sets the blob size (default 1024), AIXCL_BENCH_ROUNDS the rounds (default 3).
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { open, mkdtemp, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../src/config/load.js";
import { silentLogger } from "../src/logger.js";
import { createPuller } from "../src/models/pull/puller.js";
import { createModelStore } from "../src/models/store.js";
import { startRegistry } from "../test/support/registry.js";
import { median, ratio, table } from "./report.js";

const MIB = 1024 * 1024;

interface Served {
  host: string;
  cdnHost: string;
  digest: string;
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

/** GET `url` and discard the body; resolves with the byte count. */
function rawDownload(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => {
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
async function serve(file: string): Promise<void> {
  const registry = await startRegistry();
  const bytes = await registry.addModel("bench/blob", "latest", [
    { mediaType: "application/vnd.ollama.image.model", data: { path: file } },
  ]);
  const digest = (JSON.parse(bytes.toString()) as { layers: { digest: string }[] }).layers[0]?.digest ?? "";
  process.send?.({ host: registry.host, cdnHost: registry.cdnHost, digest } satisfies Served);
  process.once("disconnect", () => void registry.close());
}

async function main(): Promise<void> {
  const sizeMib = Number(process.env.AIXCL_BENCH_PULL_MIB ?? 1024);
  const rounds = Number(process.env.AIXCL_BENCH_ROUNDS ?? 3);
  const work = await mkdtemp(join(tmpdir(), "aixcl-bench-pull-"));
  try {
    const blobFile = join(work, "blob.bin");
    const size = sizeMib * MIB;
    process.stdout.write(`writing ${sizeMib} MiB of random bytes...\n`);
    await writeRandomFile(blobFile, size);
    const child = fork(fileURLToPath(import.meta.url), ["serve", blobFile], { stdio: "inherit" });
    try {
      const [served] = (await once(child, "message")) as [Served];
      const rawUrl = `http://${served.cdnHost}/blobs/${served.digest}`;
      // Warm the page cache so neither side pays for the first read of the source file.
      await rawDownload(rawUrl);

      const raw: number[] = [];
      const pull: number[] = [];
      for (let round = 0; round < rounds; round++) {
        let start = performance.now();
        const got = await rawDownload(rawUrl);
        if (got !== size) throw new Error(`raw download got ${got} of ${size} bytes`);
        raw.push(size / MIB / ((performance.now() - start) / 1000));

        const home = join(work, `home-${round}`);
        const hosts = [served.host, served.cdnHost];
        const config = loadConfig({
          flags: { home, "registry.insecure": hosts, "registry.allow_private": hosts },
          env: {},
          readFile: false,
        });
        const store = createModelStore({ root: join(home, "models") });
        const puller = createPuller({ store, config, logger: silentLogger() });
        start = performance.now();
        await puller.pull(`${served.host}/bench/blob`, {}, () => undefined);
        pull.push(size / MIB / ((performance.now() - start) / 1000));
        puller.close();
        await store.close();
        await rm(home, { recursive: true, force: true });
      }
      process.stdout.write(
        `${table(`${sizeMib} MiB blob, MB/s`, [
          { label: "raw HTTP to /dev/null", values: raw },
          { label: "pull (parts + sha256 + disk)", values: pull },
        ])}\n${ratio("pull / raw", median(pull), median(raw))} (target >= 0.80)\n`,
      );
    } finally {
      child.disconnect();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "serve") await serve(process.argv[3] ?? "");
else await main();
