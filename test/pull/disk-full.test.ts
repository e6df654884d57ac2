/**
 * A pull onto a full disk, for real: the aixcl home is a small tmpfs mounted for this file (the
 * tests run as root, here and in CI). The disk fills mid-pull; the pull ends with
 * insufficient_storage naming the store relative to the home, keeps its partial file and state,
 * the store keeps working, and the pull resumes once space is freed.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/logger.js";
import { blobPath, parseDigest } from "../../src/models/manifest.js";
import { createPuller, type Puller } from "../../src/models/pull/puller.js";
import { createModelStore, type LocalModelStore } from "../../src/models/store.js";
import { rejectedAppError } from "../support/app-error.js";
import { startRegistry, type LoopbackRegistry } from "../support/registry.js";
import { tinyModel } from "../support/test-models.js";

const MIB = 1024 * 1024;
const MODEL = "application/vnd.ollama.image.model";

let registry: LoopbackRegistry;
let home: string;
let mounted = false;
let store: LocalModelStore;
let puller: Puller;
let root: string;

beforeAll(async () => {
  registry = await startRegistry();
  home = await mkdtemp(join(tmpdir(), "aixcl-diskfull-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=8m", "tmpfs", home]);
  mounted = true;
  const hosts = [registry.host, registry.cdnHost];
  const config = loadConfig({
    flags: { home, "registry.insecure": hosts, "registry.allow_private": hosts },
    env: {},
    readFile: false,
  });
  root = join(home, "models");
  store = createModelStore({ root });
  puller = createPuller({
    store,
    config,
    logger: silentLogger(),
    parts: { minPartSize: MIB, maxPartSize: MIB, concurrency: 2, attempts: 2, backoffMs: 5 },
  });
}, 60_000);

afterAll(async () => {
  puller?.close();
  await store?.close();
  await registry?.close();
  if (mounted) execFileSync("umount", [home]);
  if (home) await rmdir(home);
});

describe("disk full during a pull", () => {
  it("refuses a blob larger than the free space before downloading anything", async () => {
    const layer = await registry.addBlob({ mediaType: MODEL, data: randomBytes(9 * MIB) });
    registry.setManifest("full/huge", "latest", { schemaVersion: 2, config: layer, layers: [layer] });
    const requests = registry.cdnRequests.length;
    const error = await rejectedAppError(puller.pull(`${registry.host}/full/huge`, {}, () => undefined));
    expect(error.code).toBe("insufficient_storage");
    expect(error.status).toBe(507);
    expect(registry.cdnRequests.length).toBe(requests);
  });

  it("says the disk is full, keeps the partial, leaves the store usable, and resumes", async () => {
    const data = randomBytes(6 * MIB);
    const layer = await registry.addBlob({ mediaType: MODEL, data });
    registry.setManifest("full/big", "latest", { schemaVersion: 2, config: layer, layers: [layer] });
    const gguf = await tinyModel();
    await registry.addModel("full/tiny", "latest", [{ mediaType: MODEL, data: { path: gguf } }]);

    // The disk fills up after the pull has checked the free space and started its transfers.
    const release = registry.hold(layer.digest);
    const pulling = rejectedAppError(puller.pull(`${registry.host}/full/big`, {}, () => undefined));
    await expect.poll(() => registry.cdnRequests.filter((r) => r.path.endsWith(layer.digest)).length).toBe(2);
    const filler = join(home, "filler");
    await writeFile(filler, Buffer.alloc(5 * MIB));
    release();
    const error = await pulling;
    expect(error.code).toBe("insufficient_storage");
    expect(error.status).toBe(507);
    expect(error.message).toContain("the disk holding models is full");
    expect(error.message).not.toContain(home);

    // The partial and its state stay, recording what reached the disk.
    const partial = `${blobPath(root, parseDigest(layer.digest))}-partial`;
    expect((await stat(partial)).size).toBe(data.length);
    const state = JSON.parse(await readFile(`${partial}.json`, "utf8")) as {
      done: number[];
      reached: Record<string, number>;
    };
    const kept = state.done.length * MIB + Object.values(state.reached).reduce((a, b) => a + b, 0);
    expect(kept).toBeGreaterThan(0);

    // The store still lists, and once space is freed pulls another model and resumes this one.
    expect(await store.list()).toEqual([]);
    await rm(filler);
    await puller.pull(`${registry.host}/full/tiny`, {}, () => undefined);
    expect((await store.list()).map((m) => m.name)).toEqual([`${registry.host}/full/tiny:latest`]);
    const served = registry.bytesServed(layer.digest);
    await puller.pull(`${registry.host}/full/big`, {}, () => undefined);
    expect(registry.bytesServed(layer.digest) - served).toBeLessThanOrEqual(data.length - kept);
    expect((await readFile(blobPath(root, parseDigest(layer.digest)))).equals(data)).toBe(true);
  });
});
