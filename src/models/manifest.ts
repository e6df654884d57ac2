/**
 * Manifests (Docker registry v2 style, as Ollama stores them) and digests. Every digest is checked
 * to be `sha256:` + 64 lowercase hex before it is turned into a path: Ollama's CVE-2024-37032 was a
 * manifest digest of `../../..` becoming a file path. Nothing here builds a blob path from an
 * unchecked string.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { AppError } from "../errors.js";

export const MEDIA_TYPE_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const MEDIA_TYPE_CONFIG = "application/vnd.docker.container.image.v1+json";

/** Layer media types Ollama uses (names after `application/vnd.ollama.image.`). */
export const LayerType = {
  model: "application/vnd.ollama.image.model",
  projector: "application/vnd.ollama.image.projector",
  adapter: "application/vnd.ollama.image.adapter",
  template: "application/vnd.ollama.image.template",
  /** Pre-template name of the template layer, still found in old downloads. */
  prompt: "application/vnd.ollama.image.prompt",
  system: "application/vnd.ollama.image.system",
  params: "application/vnd.ollama.image.params",
  license: "application/vnd.ollama.image.license",
  messages: "application/vnd.ollama.image.messages",
} as const;

/**
 * Largest manifest file read, bytes (4 MiB). Real manifests are < 10 KB; the cap stops a hostile
 * or corrupt file from being read into memory whole.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Most layers accepted in one manifest. */
const MAX_LAYERS = 4096;

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** A digest known to be `sha256:` + 64 lowercase hex (only `parseDigest` makes one). */
export type Digest = string & { readonly __digest: unique symbol };

function isDigest(value: unknown): value is Digest {
  return typeof value === "string" && DIGEST_RE.test(value);
}

/** Checks a client- or file-given digest; throws AppError invalid_digest otherwise. */
export function parseDigest(value: unknown): Digest {
  if (isDigest(value)) return value;
  const shown = typeof value === "string" ? JSON.stringify(value.slice(0, 80)) : typeof value;
  throw new AppError("invalid_digest", `invalid digest format: ${shown} (want sha256:<64 lowercase hex>)`);
}

/** The hex part of a checked digest. */
export function digestHex(digest: Digest): string {
  return digest.slice("sha256:".length);
}

export function digestOf(hex: string): Digest {
  return parseDigest(`sha256:${hex}`);
}

function blobsDir(root: string): string {
  return join(resolve(root), "blobs");
}

/** `<root>/blobs/sha256-<hex>`: only for a digest already checked by `parseDigest`. */
export function blobPath(root: string, digest: Digest): string {
  // Re-check: a cast can forge the brand, a regex cannot be fooled.
  const checked = parseDigest(digest);
  return join(blobsDir(root), `sha256-${digestHex(checked)}`);
}

const digestSchema = z.string().refine(isDigest, { message: "digest must be sha256:<64 lowercase hex>" });

const layerSchema = z.object({
  mediaType: z.string().min(1).max(256),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  /** Where the layer came from (a file name or a model name); Ollama's `parent_model`. */
  from: z.string().max(1024).optional(),
  /** Tensor name for split layers (Ollama safetensors imports). */
  name: z.string().max(1024).optional(),
});

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().max(256).optional(),
  config: layerSchema,
  layers: z.array(layerSchema).max(MAX_LAYERS),
});

export type ManifestLayer = Omit<z.infer<typeof layerSchema>, "digest"> & { digest: Digest };
export interface Manifest {
  schemaVersion: 2;
  mediaType?: string | undefined;
  config: ManifestLayer;
  layers: ManifestLayer[];
}

/** Parses manifest bytes; throws AppError invalid_request (or invalid_digest for a bad digest). */
export function parseManifest(bytes: Uint8Array): Manifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new AppError("invalid_request", `manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch (cause) {
    throw new AppError("invalid_request", "manifest is not valid JSON", { cause });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    const digestIssue = parsed.error.issues.some((issue) => issue.path.at(-1) === "digest");
    throw new AppError(
      digestIssue ? "invalid_digest" : "invalid_request",
      `invalid manifest: ${parsed.error.issues[0]?.message ?? "bad shape"}`,
      { cause: parsed.error },
    );
  }
  return parsed.data;
}

/** Serialises like Ollama's json.Encoder (compact, trailing newline), omitting empty optionals. */
export function serializeManifest(config: ManifestLayer, layers: readonly ManifestLayer[]): Buffer {
  const layer = (l: ManifestLayer) => ({
    mediaType: l.mediaType,
    digest: l.digest,
    size: l.size,
    ...(l.from ? { from: l.from } : {}),
    ...(l.name ? { name: l.name } : {}),
  });
  const body = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_MANIFEST,
    config: layer(config),
    layers: layers.map(layer),
  };
  return Buffer.from(`${JSON.stringify(body)}\n`, "utf8");
}

export interface ManifestFile {
  manifest: Manifest;
  /** The file's bytes as read (copies keep them exactly, so the digest stays the same). */
  bytes: Buffer;
  /** sha256 hex of the file bytes (Ollama's model `digest`). */
  digest: string;
  modifiedAt: Date;
}

/**
 * Reads and parses a manifest file with the size cap enforced before reading. Throws the fs error
 * (ENOENT...) as is, so callers can tell "missing" from "broken".
 */
export async function readManifestFile(path: string): Promise<ManifestFile> {
  // O_NONBLOCK: a FIFO planted in the manifests tree must not hang the store on open.
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AppError("invalid_request", "manifest is not a regular file");
    if (stat.size > MAX_MANIFEST_BYTES) {
      throw new AppError("invalid_request", `manifest larger than ${MAX_MANIFEST_BYTES} bytes`);
    }
    const bytes = await handle.readFile();
    return {
      manifest: parseManifest(bytes),
      bytes,
      digest: createHash("sha256").update(bytes).digest("hex"),
      modifiedAt: stat.mtime,
    };
  } finally {
    await handle.close();
  }
}

/** Every digest a manifest references (config included), deduplicated. */
export function manifestDigests(manifest: Manifest): Set<Digest> {
  return new Set([manifest.config.digest, ...manifest.layers.map((l) => l.digest)]);
}

/** Total bytes of a model as Ollama reports it: every layer plus the config. */
export function manifestSize(manifest: Manifest): number {
  return manifest.layers.reduce((sum, l) => sum + l.size, manifest.config.size);
}
