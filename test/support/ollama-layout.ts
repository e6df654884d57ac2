/**
 * Ollama's on-disk model layout for tests: content-addressed blobs plus one manifest per name,
 * written the way `ollama pull`/`ollama create` leave them so the store reads real layouts.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { access, copyFile, mkdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { formatParameterCount, quantizationName, readGgufInfo } from "../../src/models/gguf/reader.js";

async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

function tmpName(path: string): string {
  return `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
}

async function writeBlob(
  storeRoot: string,
  data: Buffer | { path: string },
): Promise<{ digest: string; size: number }> {
  const blobs = join(storeRoot, "blobs");
  await mkdir(blobs, { recursive: true });
  const hex = Buffer.isBuffer(data)
    ? createHash("sha256").update(data).digest("hex")
    : await sha256File(data.path);
  const size = Buffer.isBuffer(data) ? data.length : (await stat(data.path)).size;
  const target = join(blobs, `sha256-${hex}`);
  // Content-addressed: a blob already present is this very content.
  if (
    await access(target).then(
      () => true,
      () => false,
    )
  )
    return { digest: `sha256:${hex}`, size };
  const tmp = tmpName(target);
  try {
    if (Buffer.isBuffer(data)) await writeFile(tmp, data);
    else await copyFile(data.path, tmp);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
  return { digest: `sha256:${hex}`, size };
}

/** `[host/][namespace/]model[:tag]` with Ollama's defaults. */
function splitName(name: string): string[] {
  const parts = name.split("/");
  const last = parts.pop() ?? "";
  const colon = last.indexOf(":");
  const model = colon < 0 ? last : last.slice(0, colon);
  const tag = colon < 0 ? "latest" : last.slice(colon + 1);
  const defaults = ["registry.ollama.ai", "library"].slice(0, Math.max(0, 2 - parts.length));
  const segments = [...defaults, ...parts, model, tag];
  if (
    segments.length !== 4 ||
    segments.some((s) => s === "" || s === "." || s === ".." || s.includes("\\"))
  ) {
    throw new Error(`installModel: bad model name ${JSON.stringify(name)}`);
  }
  return segments;
}

/**
 * Writes `ggufPath` into an Ollama-layout store: blobs/sha256-<hex> (copied) and
 * manifests/<host>/<ns>/<model>/<tag>, plus optional template/system/params/license layers.
 */
export async function installModel(
  storeRoot: string,
  name: string,
  ggufPath: string,
  layers: { template?: string; system?: string; params?: Record<string, unknown>; license?: string } = {},
): Promise<void> {
  const segments = splitName(name);
  const entries: { mediaType: string; digest: string; size: number }[] = [];
  const add = async (kind: string, data: Buffer | { path: string }) => {
    entries.push({
      mediaType: `application/vnd.ollama.image.${kind}`,
      ...(await writeBlob(storeRoot, data)),
    });
  };
  await add("model", { path: ggufPath });
  if (layers.template !== undefined) await add("template", Buffer.from(layers.template));
  if (layers.system !== undefined) await add("system", Buffer.from(layers.system));
  if (layers.params !== undefined) await add("params", Buffer.from(JSON.stringify(layers.params)));
  if (layers.license !== undefined) await add("license", Buffer.from(layers.license));
  // Tests also install deliberately broken files, so the header facts are best effort.
  const info = await readGgufInfo(ggufPath).catch(() => undefined);
  const family = info?.architecture ?? "llama";
  const config = await writeBlob(
    storeRoot,
    Buffer.from(
      JSON.stringify({
        model_format: "gguf",
        model_family: family,
        model_families: [family],
        model_type: info ? formatParameterCount(info.parameterCount) : "",
        file_type: info ? quantizationName(info.fileType) : "",
        architecture: "amd64",
        os: "linux",
        rootfs: { type: "layers", diff_ids: entries.map((e) => e.digest) },
      }),
    ),
  );
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
    config: { mediaType: "application/vnd.docker.container.image.v1+json", ...config },
    layers: entries,
  };
  const path = join(storeRoot, "manifests", ...segments);
  await mkdir(dirname(path), { recursive: true });
  const tmp = tmpName(path);
  await writeFile(tmp, JSON.stringify(manifest));
  await rename(tmp, path);
}
