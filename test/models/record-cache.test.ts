/**
 * The store's record cache: a repeated lookup reads nothing from disk, and every change is seen —
 * through this store (create, copy, delete, a pulled manifest installed) and by another process
 * writing the same directory (a second store on it stands for the CLI: `aixcl models rm`, `cp`).
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { manifestPath, parseModelName } from "../../src/models/names.js";
import { createModelStore, type LocalModelStore } from "../../src/models/store.js";
import { rejectedAppError } from "../support/app-error.js";
import { installModel, tinyModel } from "../support/test-models.js";

let root: string;
let server: LocalModelStore;
let cli: LocalModelStore;
const quiet = (): void => undefined;

/** Records read from disk by the server's store since `before`. */
const readsSince = (before: number): number => server.stats().reads - before;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "aixcl-record-cache-"));
  const gguf = await tinyModel();
  await installModel(root, "tiny", gguf, { template: "{{ .Prompt }}", system: "first" });
  await installModel(root, "other", gguf, { system: "other" });
  server = createModelStore({ root });
  cli = createModelStore({ root });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("the model record cache", () => {
  it("reads a record once, then answers from the cache (any spelling of the name)", async () => {
    const before = server.stats().reads;
    const first = await server.get("tiny");
    expect(first.system).toBe("first");
    expect(await server.get("tiny:latest")).toBe(first);
    expect(await server.get("TINY")).toBe(first);
    expect(readsSince(before)).toBe(1);
  });

  it("sees a model changed by another process (a new manifest written in place)", async () => {
    await server.get("tiny");
    const before = server.stats().reads;
    await cli.create({ name: "tiny", from: "tiny", system: "changed by the CLI" }, quiet);
    expect((await server.get("tiny")).system).toBe("changed by the CLI");
    expect(readsSince(before)).toBe(1);
  });

  it("sees a manifest edited in place and one removed by another process", async () => {
    const path = manifestPath(root, parseModelName("other"));
    const cached = await server.get("other");
    // Same file, new bytes (an editor or `cp` over it): size and mtime change, the inode does not.
    const text = await readFile(path, "utf8");
    await writeFile(path, text.replace(/\}\s*$/, "} \n"));
    const reread = await server.get("other");
    expect(reread).not.toBe(cached);
    expect(reread.digest).not.toBe(cached.digest);
    await cli.delete("other");
    expect((await rejectedAppError(server.get("other"))).code).toBe("model_not_found");
  });

  it("forgets records on its own copy, delete and installed (pulled) manifests", async () => {
    await server.create({ name: "target", from: "tiny", system: "target before" }, quiet);
    expect((await server.get("target")).system).toBe("target before");

    await server.copy("tiny", "target");
    const copied = await server.get("target");
    expect(copied.system).toBe("changed by the CLI");
    expect(copied.digest).toBe((await server.get("tiny")).digest);

    await cli.create({ name: "pulled-source", from: "tiny", system: "as pulled" }, quiet);
    const pulled = await readFile(manifestPath(root, parseModelName("pulled-source")));
    await server.installManifest("target", pulled);
    expect((await server.get("target")).system).toBe("as pulled");

    await server.delete("target");
    expect((await rejectedAppError(server.get("target"))).code).toBe("model_not_found");
  });
});
