/**
 * POST /api/pull end to end: the published `ollama` client pulls a generated model from the
 * loopback registry (307 to the CDN host, bearer token flow), sees Ollama's progress lines in
 * Ollama's order, and the pulled model then chats.
 */
import { readFile } from "node:fs/promises";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { CHATML_TEMPLATE } from "../support/test-models.js";
import { HELLO_SCRIPT, helloModel } from "../support/scripted-models.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { startRegistry, type LoopbackRegistry } from "../support/registry.js";

let registry: LoopbackRegistry;
let platform: TestPlatform;
let client: Ollama;
let modelDigest: string;

beforeAll(async () => {
  registry = await startRegistry({ auth: true });
  const gguf = await helloModel();
  const bytes = await registry.addModel("library/hello", "latest", [
    { mediaType: "application/vnd.ollama.image.model", data: { path: gguf } },
    { mediaType: "application/vnd.ollama.image.template", data: Buffer.from(CHATML_TEMPLATE) },
    { mediaType: "application/vnd.ollama.image.params", data: Buffer.from('{"temperature":0}') },
  ]);
  modelDigest = (JSON.parse(bytes.toString()) as { layers: { digest: string }[] }).layers[0]?.digest ?? "";
  platform = await startTestPlatform({
    flags: { "registry.allow_private": [registry.host, registry.cdnHost] },
  });
  client = new Ollama({ host: platform.url });
  expect((await readFile(gguf)).length).toBeGreaterThan(0);
}, 120_000);

afterAll(async () => {
  await platform?.close();
  await registry?.close();
});

describe("POST /api/pull", () => {
  it("pulls with Ollama's progress lines, then the model chats", async () => {
    const name = `${registry.host}/library/hello:latest`;
    const statuses: { status: string; digest?: string; total?: number; completed?: number }[] = [];
    for await (const part of await client.pull({ model: name, insecure: true, stream: true })) {
      statuses.push(part);
    }
    expect(statuses[0]).toEqual({ status: "pulling manifest" });
    expect(statuses.slice(-3).map((s) => s.status)).toEqual([
      "verifying sha256 digest",
      "writing manifest",
      "success",
    ]);
    const modelLines = statuses.filter((s) => s.digest === modelDigest);
    expect(modelLines[0]?.status).toBe(`pulling ${modelDigest.slice(7, 19)}`);
    const last = modelLines.at(-1);
    expect(last?.completed).toBe(last?.total);
    // The token flow ran, and the bearer token never went to the CDN host.
    expect(registry.tokenRequests).toBeGreaterThan(0);
    expect(registry.cdnRequests.length).toBeGreaterThan(0);
    expect(registry.cdnRequests.every((r) => r.authorization === undefined)).toBe(true);

    const tags = await client.list();
    expect(tags.models.map((m) => m.name)).toContain(name);
    const reply = await client.chat({ model: name, messages: [{ role: "user", content: "hi" }] });
    expect(reply.message.content).toBe(HELLO_SCRIPT.join(""));
  }, 120_000);

  it("answers stream:false with one success object; present blobs send one completed line", async () => {
    const name = `${registry.host}/library/hello:latest`;
    const before = registry.bytesServed(modelDigest);
    expect(await client.pull({ model: name, insecure: true, stream: false })).toEqual({ status: "success" });
    const lines = [];
    for await (const part of await client.pull({ model: name, insecure: true, stream: true }))
      lines.push(part);
    const modelLines = lines.filter((s) => s.digest === modelDigest);
    expect(modelLines).toHaveLength(1);
    expect(modelLines[0]?.completed).toBe(modelLines[0]?.total);
    expect(registry.bytesServed(modelDigest)).toBe(before);
  });

  it("refuses plain http without insecure, and an invalid name before anything runs", async () => {
    const requests = registry.cdnRequests.length;
    // Without `insecure` the registry is spoken to over https only, which this http server is not.
    await expect(client.pull({ model: `${registry.host}/library/hello`, stream: false })).rejects.toThrow(
      /cannot fetch from 127\.0\.0\.1/,
    );
    await expect(client.pull({ model: "../../etc:passwd", insecure: true, stream: false })).rejects.toThrow(
      /invalid model name/,
    );
    expect(registry.cdnRequests.length).toBe(requests);
  });

  it("two concurrent pulls of the same model share one download", async () => {
    const gguf = await helloModel();
    const bytes = await registry.addModel("shared/hello", "v1", [
      { mediaType: "application/vnd.ollama.image.model", data: { path: gguf } },
      // A layer no other model has, so it must really be downloaded here.
      { mediaType: "application/vnd.ollama.image.system", data: Buffer.from(`shared ${Date.now()}`) },
    ]);
    const system = (JSON.parse(bytes.toString()) as { layers: { digest: string }[] }).layers[1]?.digest ?? "";
    const release = registry.hold(system);
    const fresh = `${registry.host}/shared/hello:v1`;
    const run = async () => {
      const seen: { status: string; digest?: string }[] = [];
      for await (const part of await client.pull({ model: fresh, insecure: true, stream: true }))
        seen.push(part);
      return seen;
    };
    const first = run();
    // The first pull is now stuck mid-download of the held layer; the second joins it.
    await expect.poll(() => registry.cdnRequests.filter((r) => r.path.endsWith(system)).length).toBe(1);
    const second = run();
    await new Promise((resolve) => setTimeout(resolve, 200));
    release();
    const [a, b] = await Promise.all([first, second]);
    for (const lines of [a, b]) {
      expect(lines.at(-1)?.status).toBe("success");
      expect(lines.some((s) => s.digest === system)).toBe(true);
    }
    expect(registry.cdnRequests.filter((r) => r.path.endsWith(system))).toHaveLength(1);
  });

  it("create with `from` a model that is not installed pulls it first, as Ollama does", async () => {
    const gguf = await helloModel();
    await registry.addModel("library/base", "latest", [
      { mediaType: "application/vnd.ollama.image.model", data: { path: gguf } },
      { mediaType: "application/vnd.ollama.image.template", data: Buffer.from(CHATML_TEMPLATE) },
    ]);
    const base = `${registry.host}/library/base:latest`;
    // /api/create has no per-request insecure flag: this server lists the registry as insecure.
    const insecure = await startTestPlatform({
      flags: {
        "registry.allow_private": [registry.host, registry.cdnHost],
        "registry.insecure": [registry.host, registry.cdnHost],
      },
    });
    const client = new Ollama({ host: insecure.url });
    onTestFinished(() => insecure.close());
    const lines: { status: string }[] = [];
    for await (const part of await client.create({
      model: "derived",
      from: base,
      system: "Be brief.",
      stream: true,
    }))
      lines.push(part);
    expect(lines[0]).toEqual({ status: "pulling manifest" });
    expect(lines.filter((l) => l.status === "success")).toHaveLength(1);
    expect(lines.at(-1)).toEqual({ status: "success" });
    const names = (await client.list()).models.map((m) => m.name);
    expect(names).toContain(base);
    expect(names).toContain("derived:latest");
    expect((await client.show({ model: "derived" })).system).toBe("Be brief.");
    const reply = await client.chat({ model: "derived", messages: [{ role: "user", content: "hi" }] });
    expect(reply.message.content).toBe(HELLO_SCRIPT.join(""));
    // A missing base that the registry does not have either: the registry's answer, nothing created.
    await expect(client.create({ model: "orphan", from: `${registry.host}/library/absent` })).rejects.toThrow(
      /file does not exist/,
    );
    expect((await client.list()).models.map((m) => m.name)).not.toContain("orphan:latest");
  }, 120_000);
});
