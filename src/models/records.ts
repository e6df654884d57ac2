/**
 * Turns a manifest into a ModelRecord: small layers (template, system, params, license, messages)
 * are read from their blobs, `details` from the GGUF header. Header facts are cached by blob
 * digest: blobs are content-addressed, so a digest's facts never change, and the header of a big
 * model (a 150k-token vocabulary) is slow to parse on every /api/tags.
 */
import { open } from "node:fs/promises";
import { AppError } from "../errors.js";
import { isNotFound } from "../lib/files.js";
import { formatParameterCount, quantizationName } from "./gguf/names.js";
import { readGgufInfo } from "./gguf/reader.js";
import type { GgufInfo } from "./gguf/types.js";
import { blobPath, LayerType, manifestSize, type Digest, type ManifestFile } from "./manifest.js";
import { displayName } from "./names.js";
import type { ModelDetails, ModelName, ModelRecord } from "./types.js";

/**
 * Largest small layer read into memory, bytes (16 MiB). Templates, licenses and message lists are
 * kilobytes; the cap keeps a hostile manifest from pointing "system" at a multi-GB blob.
 */
const MAX_TEXT_LAYER_BYTES = 16 * 1024 * 1024;

/** What the store remembers about a GGUF blob (never the vocabulary arrays: they are large). */
export interface GgufSummary {
  architecture: string;
  parameterCount: number;
  fileType: number | undefined;
}

export interface GgufCache {
  summary(digest: Digest, path: string): Promise<GgufSummary>;
  forget(digest: string): void;
  clear(): void;
}

export function createGgufCache(read: (path: string) => Promise<GgufInfo> = readGgufInfo): GgufCache {
  const entries = new Map<string, Promise<GgufSummary>>();
  return {
    summary(digest, path) {
      let entry = entries.get(digest);
      if (!entry) {
        entry = read(path).then((info) => ({
          architecture: info.architecture,
          parameterCount: info.parameterCount,
          fileType: info.fileType,
        }));
        entries.set(digest, entry);
        // A failed read is not cached: the blob may be replaced by a good upload later.
        entry.catch(() => {
          if (entries.get(digest) === entry) entries.delete(digest);
        });
      }
      return entry;
    },
    forget(digest) {
      entries.delete(digest);
    },
    clear() {
      entries.clear();
    },
  };
}

/** A record plus the extra blob paths the store knows about (structurally a ModelRecord). */
export interface StoredModelRecord extends ModelRecord {
  /** Vision projector blobs (`application/vnd.ollama.image.projector`). */
  projectorPaths: string[];
  /** LoRA adapter blobs (`application/vnd.ollama.image.adapter`). */
  adapterPaths: string[];
}

export function isStoredRecord(record: ModelRecord): record is StoredModelRecord {
  return Array.isArray((record as Partial<StoredModelRecord>).projectorPaths);
}

/** Reads a blob as UTF-8 text, refusing anything over MAX_TEXT_LAYER_BYTES. */
export async function readTextBlob(root: string, digest: Digest): Promise<string> {
  let handle;
  try {
    handle = await open(blobPath(root, digest), "r");
  } catch (error) {
    if (isNotFound(error)) {
      throw new AppError("blob_not_found", `blob ${digest} not found`);
    }
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_TEXT_LAYER_BYTES) {
      throw new AppError("invalid_request", `layer ${digest} is larger than ${MAX_TEXT_LAYER_BYTES} bytes`);
    }
    return (await handle.readFile()).toString("utf8");
  } finally {
    await handle.close();
  }
}

function parseJsonLayer(text: string, digest: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new AppError("invalid_request", `layer ${digest} is not valid JSON`, { cause });
  }
}

function toMessages(value: unknown, digest: string): { role: string; content: string }[] {
  if (!Array.isArray(value)) throw new AppError("invalid_request", `messages layer ${digest} is not a list`);
  return value.map((m: unknown) => {
    const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || (content !== undefined && typeof content !== "string")) {
      throw new AppError("invalid_request", `messages layer ${digest} holds a malformed message`);
    }
    return { role, content: content ?? "" };
  });
}

function detailsFrom(summary: GgufSummary, parentModel: string): ModelDetails {
  return {
    parent_model: parentModel,
    format: "gguf",
    family: summary.architecture,
    families: summary.architecture ? [summary.architecture] : null,
    parameter_size: formatParameterCount(summary.parameterCount),
    quantization_level: quantizationName(summary.fileType),
  };
}

/** Builds the record of `name` from its parsed manifest file. */
export async function buildRecord(
  root: string,
  name: ModelName,
  file: ManifestFile,
  gguf: GgufCache,
): Promise<StoredModelRecord> {
  const { manifest } = file;
  const modelLayer = manifest.layers.find((l) => l.mediaType === LayerType.model);
  if (!modelLayer) {
    throw new AppError("unsupported", `model ${displayName(name)} has no GGUF model layer`);
  }
  const record: StoredModelRecord = {
    name: displayName(name),
    ref: name,
    digest: file.digest,
    size: manifestSize(manifest),
    modifiedAt: file.modifiedAt,
    modelPath: blobPath(root, modelLayer.digest),
    modelDigest: modelLayer.digest,
    params: {},
    details: detailsFrom({ architecture: "", parameterCount: 0, fileType: undefined }, ""),
    projectorPaths: [],
    adapterPaths: [],
  };
  for (const layer of manifest.layers) {
    switch (layer.mediaType) {
      case LayerType.template:
      case LayerType.prompt:
        record.template = await readTextBlob(root, layer.digest);
        break;
      case LayerType.system:
        record.system = await readTextBlob(root, layer.digest);
        break;
      case LayerType.params: {
        const params = parseJsonLayer(await readTextBlob(root, layer.digest), layer.digest);
        if (params === null || typeof params !== "object" || Array.isArray(params)) {
          throw new AppError("invalid_request", `params layer ${layer.digest} is not an object`);
        }
        record.params = params as Record<string, unknown>;
        break;
      }
      case LayerType.license:
        (record.license ??= []).push(await readTextBlob(root, layer.digest));
        break;
      case LayerType.messages:
        record.messages = toMessages(
          parseJsonLayer(await readTextBlob(root, layer.digest), layer.digest),
          layer.digest,
        );
        break;
      case LayerType.projector:
        record.projectorPaths.push(blobPath(root, layer.digest));
        break;
      case LayerType.adapter:
        record.adapterPaths.push(blobPath(root, layer.digest));
        break;
      default:
        // Layers this store does not use (draft models, tensors of safetensors imports) are kept
        // in the manifest and counted in `size`, nothing more.
        break;
    }
  }
  let summary: GgufSummary;
  try {
    summary = await gguf.summary(modelLayer.digest, record.modelPath);
  } catch (error) {
    if (isNotFound(error)) {
      throw new AppError("blob_not_found", `model blob ${modelLayer.digest} of ${record.name} is missing`);
    }
    throw error;
  }
  record.details = detailsFrom(summary, modelLayer.from ?? "");
  return record;
}
