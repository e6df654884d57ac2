/**
 * Pulls on real networks, against the loopback registry: connections reset mid-part, a 5xx, a
 * cut resumed at the byte reached (by the retry inside one pull, and by a new puller on the same
 * store, as after a restart), and the connections a pull of 16 parts opens.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/logger.js";
import { blobPath, parseDigest } from "../../src/models/manifest.js";
import type { PartOptions } from "../../src/models/pull/download.js";
import { createPuller, type Puller } from "../../src/models/pull/puller.js";
import { createModelStore } from "../../src/models/store.js";
import { rejectedAppError } from "../support/app-error.js";
import { startRegistry, type LoopbackRegistry } from "../support/registry.js";

const MIB = 1024 * 1024;
const MODEL = "application/vnd.ollama.image.model";
/** Retries without the production pauses. */
const FAST_RETRY = { attempts: 6, backoffMs: 5 };

let registry: LoopbackRegistry;
const dirs: string[] = [];
const pullers: Puller[] = [];

beforeAll(async () => {
  registry = await startRegistry();
});

afterEach(() => {
  for (const p of pullers.splice(0)) p.close();
});

afterAll(async () => {
  await registry?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function newHome(): Promise<string> {
  const home = await mkdtemp(join(tmpdir(), "aixcl-pullnet-"));
  dirs.push(home);
  return home;
}

function newPuller(home: string, parts: Partial<PartOptions> = {}) {
  const hosts = [registry.host, registry.cdnHost];
  const config = loadConfig({
    flags: { home, "registry.insecure": hosts, "registry.allow_private": hosts },
    env: {},
    readFile: false,
  });
  const root = join(home, "models");
  const store = createModelStore({ root });
  const puller = createPuller({ store, config, logger: silentLogger(), parts: { ...FAST_RETRY, ...parts } });
  pullers.push(puller);
  return { puller, store, root };
}

/** Serves `data` as `repo:latest` (the blob as its only layer and config). */
async function serveBlob(repo: string, data: Buffer | { path: string } | { zeros: number }) {
  const layer = await registry.addBlob({ mediaType: MODEL, data });
  registry.setManifest(repo, "latest", { schemaVersion: 2, config: layer, layers: [layer] });
  return { layer, name: `${registry.host}/${repo}` };
}

const rangesOf = (digest: string) =>
  registry.cdnRequests.filter((r) => r.path.endsWith(digest)).map((r) => r.range);

describe("pulls on real networks", () => {
  it("survives three cuts mid-part, fetching every byte once", async () => {
    // One 8 MiB part, downloaded alone: resuming at the part's start would cost 2 + 4 + 6 MiB more.
    const data = randomBytes(8 * MIB);
    const { layer, name } = await serveBlob("net/cuts", data);
    const { puller, root } = newPuller(await newHome(), { minPartSize: 8 * MIB, concurrency: 1 });
    registry.cutAfter(layer.digest, 2 * MIB, { times: 3 });
    await puller.pull(name, {}, () => undefined);
    expect((await readFile(blobPath(root, parseDigest(layer.digest)))).equals(data)).toBe(true);
    expect(rangesOf(layer.digest)).toEqual([
      undefined,
      `bytes=${2 * MIB}-${8 * MIB - 1}`,
      `bytes=${4 * MIB}-${8 * MIB - 1}`,
      `bytes=${6 * MIB}-${8 * MIB - 1}`,
    ]);
    expect(registry.bytesServed(layer.digest)).toBe(data.length);
  });

  it("survives three connection resets mid-part, resuming each time where the bytes stopped", async () => {
    const data = randomBytes(8 * MIB);
    const { layer, name } = await serveBlob("net/resets", data);
    const { puller, root } = newPuller(await newHome(), { minPartSize: 8 * MIB, concurrency: 1 });
    registry.cutAfter(layer.digest, 2 * MIB, { times: 3, reset: true });
    await puller.pull(name, {}, () => undefined);
    expect((await readFile(blobPath(root, parseDigest(layer.digest)))).equals(data)).toBe(true);
    const ranges = rangesOf(layer.digest);
    expect(ranges).toHaveLength(4);
    expect(ranges[0]).toBeUndefined();
    // A TCP reset discards what sat in the socket buffers (sent, never read): those bytes, and
    // only those, are asked for again; nothing before them is.
    const starts = ranges.slice(1).map((r) => Number(/^bytes=(\d+)-8388607$/.exec(r ?? "")?.[1]));
    expect(starts[0]).toBeGreaterThan(0);
    expect(starts[1]).toBeGreaterThan(starts[0] ?? 0);
    expect(starts[2]).toBeGreaterThan(starts[1] ?? 0);
    const lostInFlight = registry.bytesServed(layer.digest) - data.length;
    expect(lostInFlight).toBeLessThan(2 * MIB + 4 * MIB + 6 * MIB);
  });

  it("retries a part answered with 503, and does not retry a 404", async () => {
    const data = randomBytes(3 * MIB + 5);
    const { layer, name } = await serveBlob("net/busy", data);
    const { puller } = newPuller(await newHome(), { minPartSize: MIB, maxPartSize: MIB, concurrency: 2 });
    registry.failNext(layer.digest, 503, 2);
    await puller.pull(name, {}, () => undefined);
    expect(registry.bytesServed(layer.digest)).toBe(data.length);

    const missing = await serveBlob("net/missing", randomBytes(1000));
    registry.failNext(missing.layer.digest, 404, 1);
    const before = rangesOf(missing.layer.digest).length;
    const error = await rejectedAppError(
      newPuller(await newHome()).puller.pull(missing.name, {}, () => undefined),
    );
    expect(error.code).toBe("model_not_found");
    expect(rangesOf(missing.layer.digest).length - before).toBe(1);
  });

  it("resumes a cut 2 MiB blob at the byte reached, within the pull", async () => {
    const data = randomBytes(2 * MIB);
    const { layer, name } = await serveBlob("net/small", data);
    const { puller, root } = newPuller(await newHome());
    const cut = MIB + 12_345;
    registry.cutAfter(layer.digest, cut);
    await puller.pull(name, {}, () => undefined);
    expect(rangesOf(layer.digest)).toEqual([undefined, `bytes=${cut}-${2 * MIB - 1}`]);
    expect(registry.bytesServed(layer.digest)).toBe(data.length);
    expect((await readFile(blobPath(root, parseDigest(layer.digest)))).equals(data)).toBe(true);
  });

  it("resumes a cut 2 MiB blob at the byte reached after a restart (a new puller)", async () => {
    const data = randomBytes(2 * MIB);
    const { layer, name } = await serveBlob("net/restart", data);
    const home = await newHome();
    const first = newPuller(home, { attempts: 1 });
    const cut = MIB + 54_321;
    registry.cutAfter(layer.digest, cut);
    expect((await rejectedAppError(first.puller.pull(name, {}, () => undefined))).code).toBe(
      "registry_error",
    );
    first.puller.close();
    const state = JSON.parse(
      await readFile(`${blobPath(first.root, parseDigest(layer.digest))}-partial.json`, "utf8"),
    ) as { reached: Record<string, number> };
    expect(state.reached).toEqual({ 0: cut });

    const second = newPuller(home);
    const lines: { digest?: string; completed?: number }[] = [];
    await second.puller.pull(name, {}, (s) => lines.push(s));
    expect(rangesOf(layer.digest)).toEqual([undefined, `bytes=${cut}-${2 * MIB - 1}`]);
    expect(lines.find((l) => l.digest === layer.digest)?.completed).toBe(cut);
    expect(registry.bytesServed(layer.digest)).toBe(data.length);
    expect((await readFile(blobPath(second.root, parseDigest(layer.digest)))).equals(data)).toBe(true);
  });

  it("pulls a blob in 16 parts over at most 8 connections", async () => {
    const home = await newHome();
    // 16 parts as a 1 GiB blob has by default (64 MiB each), at a quarter of the size: the
    // connections do not depend on the parts' size, and hashing and serving a GiB took ~6 s of CPU.
    const { layer, name } = await serveBlob("net/big", { zeros: 256 * MIB });
    const before = { ...registry.accepted };
    const { puller } = newPuller(home, { minPartSize: 16 * MIB });
    await puller.pull(name, {}, () => undefined);
    const opened = registry.accepted.registry - before.registry + registry.accepted.cdn - before.cdn;
    // 16 parts, 4 at once, over kept-alive connections.
    expect(rangesOf(layer.digest)).toHaveLength(16);
    expect(opened).toBeLessThanOrEqual(8);
  }, 120_000);
});
