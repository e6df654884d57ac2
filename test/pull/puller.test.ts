/**
 * The puller against the loopback registry, without a server: resume of an interrupted pull,
 * digest mismatch, hostile manifest digests (CVE-2024-37032), the token realm rule, credentials
 * and redirect targets, and the private-address rule. Small Range parts make a 0.5 MB model a
 * multi-part download.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/logger.js";
import { blobPath, parseDigest } from "../../src/models/manifest.js";
import { WORKER_HASH_MIN } from "../../src/models/pull/hasher.js";
import { createPuller, type Puller } from "../../src/models/pull/puller.js";
import { createModelStore, type LocalModelStore } from "../../src/models/store.js";
import type { ProgressStatus } from "../../src/models/types.js";
import { rejectedAppError } from "../support/app-error.js";
import { startRegistry, type LoopbackRegistry } from "../support/registry.js";
import { tinyModel } from "../support/test-models.js";

const PARTS = { minPartSize: 32 * 1024, maxPartSize: 32 * 1024, concurrency: 2, attempts: 1, backoffMs: 1 };
const MODEL = "application/vnd.ollama.image.model";

let registry: LoopbackRegistry;
let gguf: string;
let ggufDigest: string;
let ggufSize: number;
const homes: string[] = [];
const pullers: Puller[] = [];

interface Setup {
  store: LocalModelStore;
  puller: Puller;
  root: string;
}

async function setup(registryFlags: Record<string, unknown>, parts = PARTS): Promise<Setup> {
  const home = await mkdtemp(join(tmpdir(), "aixcl-pull-"));
  homes.push(home);
  const config = loadConfig({ flags: { home, ...registryFlags }, env: {}, readFile: false });
  const root = join(home, "models");
  const store = createModelStore({ root });
  const puller = createPuller({ store, config, logger: silentLogger(), parts });
  pullers.push(puller);
  return { store, puller, root };
}

const allowed = () => ({
  "registry.insecure": [registry.host, registry.cdnHost],
  "registry.allow_private": [registry.host, registry.cdnHost],
});

/** Every file under `dir` (relative paths), or [] when it does not exist. */
async function snapshot(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.map((e) => relative(dir, join(e.parentPath, e.name))).sort();
  } catch {
    return [];
  }
}

beforeAll(async () => {
  registry = await startRegistry();
  gguf = await tinyModel();
  const bytes = await readFile(gguf);
  ggufSize = bytes.length;
  ggufDigest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}, 120_000);

afterEach(() => {
  for (const p of pullers.splice(0)) p.close();
});

afterAll(async () => {
  await registry?.close();
  for (const home of homes) await rm(home, { recursive: true, force: true });
});

describe("puller", () => {
  it("resumes an interrupted pull and transfers only the rest", async () => {
    await registry.addModel("library/resume", "latest", [{ mediaType: MODEL, data: { path: gguf } }]);
    const { store, puller, root } = await setup(allowed());
    const name = `${registry.host}/library/resume`;
    const start = registry.bytesServed(ggufDigest);
    registry.cutAfter(ggufDigest, Math.floor(ggufSize * 0.6));
    await rejectedAppError(puller.pull(name, {}, () => undefined));
    const first = registry.bytesServed(ggufDigest) - start;
    expect(await store.list()).toEqual([]);
    const partial = `${blobPath(root, parseDigest(ggufDigest))}-partial`;
    expect(await snapshot(join(root, "blobs"))).toContain(relative(join(root, "blobs"), partial));

    const lines: ProgressStatus[] = [];
    await puller.pull(name, {}, (s) => lines.push(s));
    const second = registry.bytesServed(ggufDigest) - start - first;
    expect(lines.at(-1)).toEqual({ status: "success" });
    // The first line of the resumed layer already counts the parts kept from the first run.
    const resumedFrom = lines.find((s) => s.digest === ggufDigest)?.completed ?? 0;
    expect(resumedFrom).toBeGreaterThan(0);
    expect(second).toBeLessThan(ggufSize);
    // Only parts in flight at the cut (at most `concurrency` parts) are fetched twice.
    expect(first + second).toBeGreaterThanOrEqual(ggufSize);
    expect(first + second).toBeLessThanOrEqual(ggufSize + PARTS.concurrency * PARTS.maxPartSize);
    const [record] = await store.list();
    expect(record?.modelDigest).toBe(ggufDigest);
    expect(await readFile(record?.modelPath ?? "")).toEqual(await readFile(gguf));
    expect((await snapshot(join(root, "blobs"))).filter((f) => f.includes("partial"))).toEqual([]);
  });

  it("hashes a large blob on a worker: cut, resumed from disk, and corrupted, it ends right", async () => {
    // Over WORKER_HASH_MIN, so the hash runs on the worker thread, fed from shared blocks while
    // downloading and from disk reads for the parts kept by the first run.
    const data = randomBytes(WORKER_HASH_MIN + 3 * 1024 * 1024 + 17);
    const big = {
      minPartSize: 1024 * 1024,
      maxPartSize: 1024 * 1024,
      concurrency: 2,
      attempts: 1,
      backoffMs: 1,
    };
    const layer = await registry.addBlob({ mediaType: MODEL, data });
    registry.setManifest("library/large", "latest", { schemaVersion: 2, config: layer, layers: [layer] });
    const { puller, root } = await setup(allowed(), big);
    const name = `${registry.host}/library/large`;

    registry.corrupt(layer.digest, true);
    const mismatch = await rejectedAppError(puller.pull(name, {}, () => undefined));
    registry.corrupt(layer.digest, false);
    expect(mismatch.code).toBe("digest_mismatch");

    registry.cutAfter(layer.digest, Math.floor(data.length * 0.5));
    await rejectedAppError(puller.pull(name, {}, () => undefined));
    await puller.pull(name, {}, () => undefined);
    expect((await readFile(blobPath(root, parseDigest(layer.digest)))).equals(data)).toBe(true);
  });

  it("pulls a Hugging Face style name (user/Repo-GGUF:QUANT) as hf.co serves it", async () => {
    // hf.co speaks the same registry protocol; what differs is the naming: a user namespace,
    // mixed-case repository names and the quantization as the tag, all kept as given.
    await registry.addModel("bartowski/Tiny-Model-GGUF", "Q4_K_M", [
      { mediaType: MODEL, data: { path: gguf } },
    ]);
    const { store, puller } = await setup(allowed());
    await puller.pull(`${registry.host}/bartowski/Tiny-Model-GGUF:Q4_K_M`, {}, () => undefined);
    const [record] = await store.list();
    expect(record?.name).toBe(`${registry.host}/bartowski/Tiny-Model-GGUF:Q4_K_M`);
    expect(record?.modelDigest).toBe(ggufDigest);
  });

  it("rejects a blob whose bytes do not match its digest and lists nothing", async () => {
    const layer = await registry.addBlob({
      mediaType: MODEL,
      data: Buffer.from(`not a model ${Date.now()}`),
    });
    registry.setManifest("library/corrupt", "latest", {
      schemaVersion: 2,
      config: layer,
      layers: [layer],
    });
    registry.corrupt(layer.digest, true);
    const { store, puller, root } = await setup(allowed());
    const error = await rejectedAppError(
      puller.pull(`${registry.host}/library/corrupt`, {}, () => undefined),
    );
    registry.corrupt(layer.digest, false);
    expect(error.code).toBe("digest_mismatch");
    expect(await store.list()).toEqual([]);
    expect(await snapshot(join(root, "blobs"))).toEqual([]);
  });

  it.each([
    ["a path", "../../x"],
    ["short hex", "sha256:abc"],
    ["uppercase hex", `sha256:${"A".repeat(64)}`],
  ])("rejects a manifest whose digest is %s before any file is created", async (_, digest) => {
    const { puller, root } = await setup(allowed());
    const home = join(root, "..");
    registry.setManifest("library/evil", "latest", {
      schemaVersion: 2,
      config: { mediaType: "application/vnd.docker.container.image.v1+json", digest, size: 2 },
      layers: [{ mediaType: MODEL, digest, size: 2 }],
    });
    const before = await snapshot(home);
    const cdnBefore = registry.cdnRequests.length;
    const error = await rejectedAppError(puller.pull(`${registry.host}/library/evil`, {}, () => undefined));
    expect(error.code).toBe("invalid_digest");
    expect(await snapshot(home)).toEqual(before);
    expect(registry.cdnRequests.length).toBe(cdnBefore);
  });

  it("refuses a token realm on another host", async () => {
    const secured = await startRegistry({ auth: true });
    try {
      await secured.addModel("library/secret", "latest", [{ mediaType: MODEL, data: Buffer.from("x") }]);
      // The CDN listens on another port: another host as far as the realm rule is concerned.
      secured.setRealm(`http://${secured.cdnHost}/token`);
      const { puller } = await setup({
        "registry.insecure": [secured.host, secured.cdnHost],
        "registry.allow_private": [secured.host, secured.cdnHost],
      });
      const error = await rejectedAppError(
        puller.pull(`${secured.host}/library/secret`, {}, () => undefined),
      );
      expect(error.code).toBe("forbidden");
      expect(error.message).toMatch(/realm host .* does not match registry host/);
      expect(secured.cdnRequests).toEqual([]);
      expect(secured.tokenRequests).toBe(0);

      // With the realm on the registry's host the same pull succeeds, and the token stays there.
      secured.setRealm(undefined);
      await puller.pull(`${secured.host}/library/secret`, {}, () => undefined);
      expect(secured.tokenRequests).toBe(1);
      expect(secured.cdnRequests.length).toBeGreaterThan(0);
      expect(secured.cdnRequests.every((r) => r.authorization === undefined)).toBe(true);
    } finally {
      await secured.close();
    }
  });

  it("re-checks redirect targets: an http CDN is refused unless allowed", async () => {
    await registry.addModel("library/redirect", "latest", [
      { mediaType: MODEL, data: Buffer.from(`redirect ${Date.now()}`) },
    ]);
    // The registry host may use http; the CDN host it redirects to may not.
    const { puller, store } = await setup({
      "registry.insecure": [registry.host],
      "registry.allow_private": [registry.host, registry.cdnHost],
    });
    const before = registry.cdnRequests.length;
    const error = await rejectedAppError(
      puller.pull(`${registry.host}/library/redirect`, {}, () => undefined),
    );
    expect(error.code).toBe("forbidden");
    expect(error.message).toContain(registry.cdnHost);
    expect(registry.cdnRequests.length).toBe(before);
    expect(await store.list()).toEqual([]);
  });

  it("refuses loopback registries and CDNs unless allowed", async () => {
    const { puller } = await setup({ "registry.insecure": [registry.host] });
    const before = registry.cdnRequests.length;
    const error = await rejectedAppError(
      puller.pull(`${registry.host}/library/resume`, { insecure: true }, () => undefined),
    );
    expect(error.code).toBe("forbidden");
    expect(error.message).toMatch(/private address/);
    const onlyRegistry = await setup({ "registry.allow_private": [registry.host] });
    const blocked = await rejectedAppError(
      onlyRegistry.puller.pull(`${registry.host}/library/resume`, { insecure: true }, () => undefined),
    );
    expect(blocked.code).toBe("forbidden");
    expect(blocked.message).toContain(registry.cdnHost);
    expect(registry.cdnRequests.length).toBe(before);
  });

  it("checks the name before anything runs", async () => {
    const { puller, root } = await setup(allowed());
    const error = await rejectedAppError(puller.pull("../../../etc/passwd", {}, () => undefined));
    expect(error.code).toBe("invalid_model_name");
    expect(await snapshot(root)).toEqual([]);
  });
});
