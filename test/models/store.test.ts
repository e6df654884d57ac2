import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { formatParameterCount } from "../../src/models/gguf/names.js";
import { readGgufInfo } from "../../src/models/gguf/reader.js";
import { showInfo } from "../../src/models/show-info.js";
import { createModelStore, type LocalModelStore } from "../../src/models/store.js";
import type { ProgressStatus } from "../../src/models/types.js";
import { meta, writeGguf } from "../support/gguf-writer.js";
import { CHATML_TEMPLATE, installModel, tinyModel } from "../support/test-models.js";

async function* chunks(data: Buffer, size = 4096): AsyncIterable<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

function sha(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return error instanceof AppError ? error.code : `not-app-error: ${String(error)}`;
  }
  return undefined;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

const blobFile = (root: string, digest: string) => join(root, "blobs", digest.replace(":", "-"));

let work: string;
let ggufPath: string;
let gguf: Buffer;
let ggufDigest: string;
let parameterCount: number;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "aixcl-store-"));
  ggufPath = await tinyModel();
  gguf = await readFile(ggufPath);
  ggufDigest = sha(gguf);
  parameterCount = (await readGgufInfo(ggufPath)).parameterCount;
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A fresh store with the tiny GGUF already uploaded. */
async function uploadedStore(label: string): Promise<LocalModelStore> {
  const store = createModelStore({ root: join(work, label) });
  await store.writeBlob(ggufDigest, chunks(gguf, 65536));
  return store;
}

describe("blobs", () => {
  it("streams a verified blob in and deduplicates", async () => {
    const store = createModelStore({ root: join(work, "blobs-ok") });
    const data = Buffer.from("hello blob");
    expect(await store.hasBlob(sha(data))).toBe(false);
    await store.writeBlob(sha(data), chunks(data, 3));
    expect(await store.hasBlob(sha(data))).toBe(true);
    expect(await readFile(blobFile(store.root, sha(data)), "utf8")).toBe("hello blob");
    await store.writeBlob(sha(data), chunks(data));
    expect(await readdir(join(store.root, "blobs"))).toEqual([sha(data).replace(":", "-")]);
  });

  it("keeps nothing on a digest mismatch", async () => {
    const store = createModelStore({ root: join(work, "blobs-bad") });
    const claimed = sha(Buffer.from("something else"));
    expect(await errorCode(store.writeBlob(claimed, chunks(Buffer.from("actual bytes"))))).toBe(
      "digest_mismatch",
    );
    expect(await store.hasBlob(claimed)).toBe(false);
    expect(await readdir(join(store.root, "blobs"))).toEqual([]);
  });

  it("refuses digests that are not sha256 + 64 lowercase hex before touching the disk", async () => {
    const store = createModelStore({ root: join(work, "blobs-path") });
    for (const digest of ["sha256:../../x", `sha256:${"a".repeat(63)}`, `sha256:${"A".repeat(64)}`]) {
      expect(await errorCode(store.writeBlob(digest, chunks(Buffer.from("x"))))).toBe("invalid_digest");
      expect(await errorCode(store.hasBlob(digest))).toBe("invalid_digest");
    }
    expect(await exists(store.root)).toBe(false);
  });
});

describe("create, get, list, show", () => {
  let store: LocalModelStore;
  const statuses: ProgressStatus[] = [];

  beforeAll(async () => {
    store = await uploadedStore("create");
    await store.create(
      {
        name: "tiny-chat:v1",
        files: { "tiny.gguf": ggufDigest },
        system: "You are terse.",
        parameters: { stop: "<|im_end|>", temperature: 0.5, num_ctx: 512 },
        license: ["MIT", "Apache-2.0"],
        messages: [{ role: "user", content: "hi" }],
      },
      (s) => statuses.push(s),
    );
  });

  it("streams Ollama's status lines", () => {
    const lines = statuses.map((s) => s.status);
    expect(lines[0]).toBe("parsing GGUF");
    expect(lines[1]).toBe(`using existing layer ${ggufDigest}`);
    expect(lines.filter((l) => l.startsWith("creating new layer sha256:"))).toHaveLength(5);
    expect(lines.slice(-2)).toEqual(["writing manifest", "success"]);
  });

  it("gets the record with layers and GGUF details", async () => {
    const record = await store.get("tiny-chat:v1");
    expect(record.name).toBe("tiny-chat:v1");
    expect(record.modelDigest).toBe(ggufDigest);
    expect(record.modelPath).toBe(blobFile(store.root, ggufDigest));
    expect(record.system).toBe("You are terse.");
    expect(record.params).toEqual({ stop: ["<|im_end|>"], temperature: 0.5, num_ctx: 512 });
    expect(record.license).toEqual(["MIT", "Apache-2.0"]);
    expect(record.messages).toEqual([{ role: "user", content: "hi" }]);
    expect(record.template).toBeUndefined();
    expect(record.details).toEqual({
      parent_model: "tiny.gguf",
      format: "gguf",
      family: "llama",
      families: ["llama"],
      parameter_size: formatParameterCount(parameterCount),
      quantization_level: "F16",
    });
    const manifestBytes = await readFile(
      join(store.root, "manifests/registry.ollama.ai/library/tiny-chat/v1"),
    );
    expect(record.digest).toBe(createHash("sha256").update(manifestBytes).digest("hex"));
    expect(record.size).toBeGreaterThan(gguf.length);
  });

  it("resolves names case-insensitively and rejects unknown ones", async () => {
    expect((await store.get("TINY-CHAT:V1")).name).toBe("tiny-chat:v1");
    expect(await errorCode(store.get("tiny-chat"))).toBe("model_not_found");
    expect(await errorCode(store.get("../tiny-chat"))).toBe("invalid_model_name");
  });

  it("lists it", async () => {
    expect((await store.list()).map((r) => r.name)).toEqual(["tiny-chat:v1"]);
  });

  it("shows it in Ollama's shape", async () => {
    const record = await store.get("tiny-chat:v1");
    const show = await showInfo(record);
    expect(show.system).toBe("You are terse.");
    expect(show.license).toBe("MIT\nApache-2.0");
    expect(show.template).toBe(CHATML_TEMPLATE);
    expect(show.parameters.split("\n")).toEqual([
      `stop${" ".repeat(27)}"<|im_end|>"`,
      `temperature${" ".repeat(20)}0.5`,
      `num_ctx${" ".repeat(24)}512`,
    ]);
    expect(show.capabilities).toEqual(["completion"]);
    expect(show.details).toEqual(record.details);
    expect(show.modified_at).toBe(record.modifiedAt.toISOString());
    expect(show.model_info["general.architecture"]).toBe("llama");
    expect(show.model_info["llama.embedding_length"]).toBe(64);
    expect(show.model_info["general.parameter_count"]).toBe(parameterCount);
    expect(show.model_info["tokenizer.ggml.tokens"]).toBeNull();
    expect(show.model_info).not.toHaveProperty("general.name");
    expect(show.model_info).not.toHaveProperty("tokenizer.chat_template");
    expect(show.tensors).toBeUndefined();
    expect(show.modelfile).toContain(`# FROM tiny-chat:v1\n\nFROM ${record.modelPath}\n`);
    expect(show.modelfile).toContain("PARAMETER stop <|im_end|>\n");
    expect(show.modelfile).toContain("SYSTEM You are terse.\n");
    expect(show.modelfile).toContain("MESSAGE user hi\n");

    const verbose = await showInfo(record, { verbose: true });
    expect(verbose.model_info["tokenizer.ggml.tokens"]).toEqual(
      expect.arrayContaining(["<unk>", "<|im_end|>"]),
    );
    expect(verbose.tensors?.find((t) => t.name === "token_embd.weight")).toMatchObject({ type: "F16" });
  });

  it("derives capabilities from the template", async () => {
    await store.create(
      {
        name: "tools-model",
        from: "tiny-chat:v1",
        template: "{{ if .Tools }}{{ .Tools }}{{ end }}{{ .Prompt }}{{ .Suffix }}<think></think>",
      },
      () => {},
    );
    const show = await showInfo(await store.get("tools-model"));
    expect(show.capabilities).toEqual(["completion", "tools", "insert", "thinking"]);
    expect(show.template).toContain(".Tools");
  });

  it("stores a projector file as a projector layer and reports vision", async () => {
    const path = join(work, "mmproj.gguf");
    await writeGguf(path, {
      metadata: { "general.architecture": meta.str("clip"), "general.type": meta.str("mmproj") },
      tensors: [{ name: "mm.0.weight", dims: [32, 2], type: "F32", values: () => new Float32Array(64) }],
    });
    const projector = await readFile(path);
    await store.writeBlob(sha(projector), chunks(projector));
    const record = await store.create(
      { name: "vision", files: { "model.gguf": ggufDigest, "mmproj.gguf": sha(projector) } },
      () => {},
    );
    expect(record.modelDigest).toBe(ggufDigest);
    expect(record.projectorPaths).toEqual([blobFile(store.root, sha(projector))]);
    expect(record.details.family).toBe("llama");
    const show = await showInfo(record);
    expect(show.capabilities).toEqual(["completion", "vision"]);
    expect(show.modelfile).toContain(`FROM ${blobFile(store.root, sha(projector))}\n`);
  });

  it("reports embedding for an encoder architecture", async () => {
    const path = join(work, "bert.gguf");
    await writeGguf(path, {
      metadata: {
        "general.architecture": meta.str("bert"),
        "general.file_type": meta.u32(0),
        "bert.pooling_type": meta.u32(1),
      },
      tensors: [
        { name: "token_embd.weight", dims: [32, 4], type: "F32", values: () => new Float32Array(128) },
      ],
    });
    const bert = await readFile(path);
    await store.writeBlob(sha(bert), chunks(bert));
    const record = await store.create({ name: "embedder", files: { "bert.gguf": sha(bert) } }, () => {});
    expect(record.details).toMatchObject({
      family: "bert",
      quantization_level: "F32",
      parameter_size: formatParameterCount(128),
    });
    expect((await showInfo(record)).capabilities).toEqual(["embedding"]);
  });

  it("creates from an existing model, replacing system and merging parameters", async () => {
    const lines: string[] = [];
    const record = await store.create(
      { name: "me/derived", from: "tiny-chat:v1", system: "Be verbose.", parameters: { temperature: 0.9 } },
      (s) => lines.push(s.status),
    );
    expect(lines).not.toContain("parsing GGUF");
    expect(lines).toContain(`using existing layer ${ggufDigest}`);
    expect(record.name).toBe("me/derived:latest");
    expect(record.system).toBe("Be verbose.");
    expect(record.params).toEqual({ stop: ["<|im_end|>"], temperature: 0.9, num_ctx: 512 });
    expect(record.license).toEqual(["MIT", "Apache-2.0"]);
    expect(record.details.parent_model).toBe("tiny-chat:v1");
    expect(record.modelDigest).toBe(ggufDigest);
    expect(await errorCode(store.create({ name: "x", from: "missing-model" }, () => {}))).toBe(
      "model_not_found",
    );
  });

  it("validates the request before writing anything", async () => {
    const before = await readdir(join(store.root, "blobs"));
    const attempts: [Parameters<LocalModelStore["create"]>[0], string][] = [
      [{ name: "bad-params", files: { "m.gguf": ggufDigest }, parameters: { bogus: 1 } }, "invalid_request"],
      [
        { name: "bad-type", files: { "m.gguf": ggufDigest }, parameters: { num_ctx: "big" } },
        "invalid_request",
      ],
      [{ name: "bad-digest", files: { "m.gguf": "sha256:../../x" } }, "invalid_digest"],
      [{ name: "bad-path", files: { "../m.gguf": ggufDigest } }, "invalid_request"],
      [{ name: "no-source" }, "invalid_request"],
      [{ name: "-flag", files: { "m.gguf": ggufDigest } }, "invalid_model_name"],
      [{ name: "not-uploaded", files: { "m.gguf": sha(Buffer.from("never uploaded")) } }, "blob_not_found"],
    ];
    for (const [request, code] of attempts) {
      expect(await errorCode(store.create({ system: "written?", ...request }, () => {}))).toBe(code);
    }
    expect(await readdir(join(store.root, "blobs"))).toEqual(before);
    const names = (await store.list()).map((r) => r.name);
    expect(names.some((n) => n.startsWith("bad") || n.startsWith("no-") || n.startsWith("not-"))).toBe(false);
  });

  it("rejects a truncated GGUF with invalid_gguf and lists nothing for it", async () => {
    const truncated = gguf.subarray(0, Math.floor(gguf.length / 2));
    await store.writeBlob(sha(truncated), chunks(truncated));
    const lines: string[] = [];
    const code = await errorCode(
      store.create({ name: "broken", files: { "broken.gguf": sha(truncated) } }, (s) => lines.push(s.status)),
    );
    expect(code).toBe("invalid_gguf");
    expect(lines).not.toContain("writing manifest");
    expect(await exists(join(store.root, "manifests/registry.ollama.ai/library/broken"))).toBe(false);
    expect((await store.list()).map((r) => r.name)).not.toContain("broken:latest");
  });
});

describe("copy and delete", () => {
  it("copies to a new name with the same manifest bytes", async () => {
    const store = await uploadedStore("copy");
    await store.create({ name: "src", files: { "t.gguf": ggufDigest } }, () => {});
    await store.copy("src", "Other/copy:v2");
    const [src, dst] = [await store.get("src"), await store.get("other/copy:v2")];
    expect(dst.name).toBe("Other/copy:v2");
    expect(dst.digest).toBe(src.digest);
    expect(dst.modelPath).toBe(src.modelPath);
    expect((await store.list()).map((r) => r.name).sort()).toEqual(["Other/copy:v2", "src:latest"]);
    expect(await errorCode(store.copy("nope", "x"))).toBe("model_not_found");
    expect(await errorCode(store.copy("src", "../x"))).toBe("invalid_model_name");
  });

  it("removes only blobs no remaining manifest references", async () => {
    const store = await uploadedStore("delete");
    const a = await store.create(
      { name: "a", files: { "t.gguf": ggufDigest }, system: "only in a" },
      () => {},
    );
    await store.create({ name: "ns/b", files: { "t.gguf": ggufDigest }, system: "only in b" }, () => {});
    const systemOf = async (name: string) => {
      const manifest = JSON.parse(
        await readFile(join(store.root, "manifests/registry.ollama.ai", name), "utf8"),
      ) as { layers: { mediaType: string; digest: string }[] };
      return manifest.layers.find((l) => l.mediaType.endsWith(".system"))?.digest ?? "";
    };
    const [systemA, systemB] = [await systemOf("library/a/latest"), await systemOf("ns/b/latest")];

    await store.delete("A:latest");
    expect(await errorCode(store.get("a"))).toBe("model_not_found");
    expect(await exists(blobFile(store.root, systemA))).toBe(false);
    expect(await exists(blobFile(store.root, ggufDigest))).toBe(true);
    expect(await exists(blobFile(store.root, systemB))).toBe(true);
    expect(await exists(join(store.root, "manifests/registry.ollama.ai/library"))).toBe(false);
    expect((await store.get("ns/b")).modelPath).toBe(a.modelPath);

    await store.delete("ns/b");
    expect(await readdir(join(store.root, "blobs"))).toEqual([]);
    expect(await store.list()).toEqual([]);
    expect(await errorCode(store.delete("ns/b"))).toBe("model_not_found");
  });

  it("keeps every manifest's blobs under concurrent creates and deletes", async () => {
    const store = await uploadedStore("concurrent");
    const files = { "t.gguf": ggufDigest };
    // Each round deletes a model whose blobs (GGUF, system, config) the concurrent creates reuse:
    // without pinning, the delete would collect them before the new manifests land.
    for (let round = 0; round < 5; round++) {
      await store.create({ name: "base", files, system: "shared" }, () => {});
      await Promise.all([
        store.create({ name: "same", files, system: `one ${round}` }, () => {}),
        store.create({ name: "same", files, system: `two ${round}` }, () => {}),
        store.create({ name: "other", files, system: "shared" }, () => {}),
        store.delete("base"),
      ]);
    }
    const records = await store.list();
    expect(records.map((r) => r.name).sort()).toEqual(["other:latest", "same:latest"]);
    for (const record of records) {
      const manifest = JSON.parse(
        await readFile(
          join(store.root, "manifests/registry.ollama.ai/library", record.ref.model, "latest"),
          "utf8",
        ),
      ) as { config: { digest: string }; layers: { digest: string }[] };
      for (const { digest } of [manifest.config, ...manifest.layers]) {
        expect(await exists(blobFile(store.root, digest))).toBe(true);
      }
    }
    expect(["one 4", "two 4"]).toContain((await store.get("same")).system);
    expect((await store.get("other")).system).toBe("shared");
  });
});

describe("a directory in Ollama's layout", () => {
  let root: string;
  let store: LocalModelStore;

  beforeAll(async () => {
    root = join(work, "ollama");
    await installModel(root, "tiny", ggufPath, {
      template: "{{ .Prompt }}",
      system: "sys",
      params: { stop: ["<|im_end|>"], temperature: 0.2 },
      license: "MIT",
    });
    await installModel(root, "library/tiny:v2", ggufPath);
    await installModel(root, "me/other:q8", ggufPath);
    store = createModelStore({ root });
  });

  it("lists every model with details from the GGUF header", async () => {
    const records = await store.list();
    expect(records.map((r) => r.name).sort()).toEqual(["me/other:q8", "tiny:latest", "tiny:v2"]);
    for (const record of records) {
      expect(record.details).toMatchObject({
        format: "gguf",
        family: "llama",
        quantization_level: "F16",
        parameter_size: formatParameterCount(parameterCount),
      });
      expect(record.modelDigest).toBe(ggufDigest);
    }
    const tiny = await store.get("tiny");
    expect(tiny).toMatchObject({
      template: "{{ .Prompt }}",
      system: "sys",
      params: { stop: ["<|im_end|>"], temperature: 0.2 },
      license: ["MIT"],
    });
    const sorted = [...records].sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime());
    expect(records.map((r) => r.name)).toEqual(sorted.map((r) => r.name));
  });

  it("skips a corrupt manifest without breaking list()", async () => {
    const dir = join(root, "manifests/registry.ollama.ai/library");
    await mkdir(join(dir, "corrupt"), { recursive: true });
    await writeFile(join(dir, "corrupt/latest"), "{ this is not json");
    await mkdir(join(dir, "empty"), { recursive: true });
    await writeFile(join(dir, "empty/latest"), "");
    await mkdir(join(dir, "-bad-name"), { recursive: true });
    await writeFile(join(dir, "-bad-name/latest"), await readFile(join(dir, "tiny/latest")));
    const names = (await store.list()).map((r) => r.name).sort();
    expect(names).toEqual(["me/other:q8", "tiny:latest", "tiny:v2"]);
    expect(await errorCode(store.get("corrupt"))).toBe("invalid_request");
  });

  it("installs a pulled manifest once its blobs are present, removing blobs it replaced", async () => {
    const bytes = await readFile(join(root, "manifests/registry.ollama.ai/library/tiny/latest"));
    expect(await store.installManifest("pulled:v1", bytes)).toEqual({ removed: 0 });
    expect((await store.get("pulled:v1")).digest).toBe((await store.get("tiny")).digest);
    const plain = await readFile(join(root, "manifests/registry.ollama.ai/library/tiny/v2"));
    const tinyLayers = (JSON.parse(bytes.toString()) as { layers: { digest: string }[] }).layers;
    const systemDigest = tinyLayers[2]?.digest ?? "";
    // tiny:latest still names the system blob, so replacing pulled:v1 keeps it.
    expect(await store.installManifest("pulled:v1", plain)).toEqual({ removed: 0 });
    expect(await exists(blobFile(root, systemDigest))).toBe(true);
    const missing = bytes.toString().replace(ggufDigest, sha(Buffer.from("absent")));
    expect(await errorCode(store.installManifest("pulled:v2", Buffer.from(missing)))).toBe("blob_not_found");
    expect(await errorCode(store.get("pulled:v2"))).toBe("model_not_found");
    await store.delete("pulled:v1");
  });

  it("never turns a manifest digest like ../../x into a file path", async () => {
    const outside = join(work, "victim");
    await writeFile(outside, "precious");
    const hostile = (digest: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        config: { mediaType: "application/vnd.docker.container.image.v1+json", digest: ggufDigest, size: 1 },
        layers: [{ mediaType: "application/vnd.ollama.image.model", digest, size: 8 }],
      });
    const dir = join(root, "manifests/registry.ollama.ai/library");
    await mkdir(join(dir, "evil"), { recursive: true });
    await writeFile(join(dir, "evil/latest"), hostile("sha256:../../../victim"));
    await writeFile(join(dir, "evil/short"), hostile("sha256:abc"));

    expect(await errorCode(store.get("evil"))).toBe("invalid_digest");
    expect(await errorCode(store.get("evil:short"))).toBe("invalid_digest");
    expect((await store.list()).map((r) => r.name)).not.toContain("evil:latest");
    await store.delete("evil");
    await store.delete("evil:short");
    expect(await readFile(outside, "utf8")).toBe("precious");
    expect(await exists(blobFile(root, ggufDigest))).toBe(true);
    expect(await errorCode(store.installManifest("evil2", Buffer.from(hostile("sha256:../../victim"))))).toBe(
      "invalid_digest",
    );
    expect(await readFile(outside, "utf8")).toBe("precious");
  });
});
