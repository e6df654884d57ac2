/**
 * /api/create semantics (Ollama docs/api.md "Create a Model", server/create.go): a model from one
 * uploaded GGUF blob (`files`) or from an existing model (`from`), plus template, system,
 * parameters, license and messages as new layers. Blobs are written first and the manifest last
 * (temp + rename), so a failure at any step never leaves a half model listed.
 */
import { AppError } from "../errors.js";
import type { GgufInfo } from "./gguf/types.js";
import { blobSize, writeBlobBytes, digestOfBytes, STORE_FILE_WRITE } from "./blobs.js";
import { writeFileAtomic } from "../lib/files.js";
import type { BlobGuard } from "./gc.js";
import {
  blobPath,
  LayerType,
  manifestDigests,
  MEDIA_TYPE_CONFIG,
  parseDigest,
  readManifestFile,
  serializeManifest,
  type Digest,
  type Manifest,
  type ManifestLayer,
} from "./manifest.js";
import { displayName, manifestPath, parseModelName } from "./names.js";
import { validateParameters } from "./params.js";
import { readTextBlob, type GgufCache, type GgufSummary } from "./records.js";
import { formatParameterCount, quantizationName } from "./gguf/names.js";
import type { ResolvedManifest } from "./tree.js";
import type { CreateModelRequest, ModelName, ProgressStatus } from "./types.js";

/** Most files one create may name, and the longest accepted file name. */
const MAX_FILES = 64;
const MAX_FILE_PATH = 1024;
const MAX_MESSAGES = 1024;

export interface CreatePlan {
  name: ModelName;
  from?: ModelName;
  files?: [path: string, digest: Digest][];
  template?: string;
  system?: string;
  parameters: Record<string, unknown>;
  licenses: string[];
  messages?: { role: string; content: string }[];
}

/** Go's fs.ValidPath plus no backslashes or NULs: a relative, clean, slash-separated path. */
function isValidFilePath(path: string): boolean {
  if (path.length === 0 || path.length > MAX_FILE_PATH || /[\\\0]/.test(path)) return false;
  return path.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

/** Checks a create request completely before anything is written. */
export function planCreate(request: CreateModelRequest): CreatePlan {
  const plan: CreatePlan = {
    name: parseModelName(request.name),
    parameters: validateParameters(request.parameters),
    licenses: [],
  };
  if (request.from !== undefined && request.from !== "") {
    plan.from = parseModelName(request.from);
  } else if (request.files !== undefined && request.files !== null) {
    const entries = Object.entries(request.files);
    if (entries.length === 0) throw new AppError("invalid_request", "no files provided to convert");
    if (entries.length > MAX_FILES) throw new AppError("invalid_request", `more than ${MAX_FILES} files`);
    plan.files = entries
      .map(([path, digest]): [string, Digest] => {
        if (!isValidFilePath(path)) throw new AppError("invalid_request", "file path must be relative");
        if (path.endsWith(".safetensors")) {
          throw new AppError("unsupported", "only GGUF files are supported (safetensors conversion is not)");
        }
        return [path, parseDigest(digest)];
      })
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  } else {
    throw new AppError("invalid_request", "neither 'from' or 'files' was specified");
  }
  const text = (field: string, value: unknown): string | undefined => {
    if (value === undefined || value === null || value === "") return undefined;
    if (typeof value !== "string") throw new AppError("invalid_request", `${field} must be a string`);
    return value;
  };
  const template = text("template", request.template);
  if (template !== undefined) plan.template = template;
  const system = text("system", request.system);
  if (system !== undefined) plan.system = system;
  const license: unknown = request.license;
  if (typeof license === "string") {
    if (license !== "") plan.licenses.push(license);
  } else if (Array.isArray(license) && license.every((l) => typeof l === "string")) {
    plan.licenses.push(...license.filter((l) => l !== ""));
  } else if (license !== undefined && license !== null) {
    throw new AppError("invalid_request", "license must be a string or an array of strings");
  }
  const messages: unknown = request.messages;
  if (Array.isArray(messages) && messages.length > 0) {
    if (messages.length > MAX_MESSAGES) throw new AppError("invalid_request", "too many messages");
    plan.messages = messages.map((m: unknown) => {
      const { role, content } = (m ?? {}) as { role?: unknown; content?: unknown };
      if (typeof role !== "string" || !/^[a-z_]{1,32}$/.test(role) || typeof content !== "string") {
        throw new AppError("invalid_request", "each message needs a role and a string content");
      }
      return { role, content };
    });
  } else if (messages !== undefined && messages !== null && !Array.isArray(messages)) {
    throw new AppError("invalid_request", "messages must be an array");
  }
  return plan;
}

export interface CreateDeps {
  root: string;
  guard: BlobGuard;
  gguf: GgufCache;
  readInfo: (path: string) => Promise<GgufInfo>;
  resolve: (name: ModelName) => Promise<ResolvedManifest | undefined>;
}

/** Which layer a GGUF file becomes (as Ollama decides in ggufLayersWithMediaType). */
function mediaTypeOf(info: GgufInfo): string {
  const kind = info.metadata["general.type"];
  if (kind === "adapter") return LayerType.adapter;
  if (kind === "projector" || kind === "mmproj" || info.architecture === "clip") return LayerType.projector;
  return LayerType.model;
}

type Status = (status: ProgressStatus) => void;

/**
 * Builds and writes the manifest of `target` (the name as it will be spelled on disk). Runs under
 * the caller's per-name lock; `old` is the manifest being replaced, whose unused blobs are removed.
 */
export async function executeCreate(
  deps: CreateDeps,
  plan: CreatePlan,
  target: ModelName,
  old: Manifest | undefined,
  onStatus: Status,
): Promise<void> {
  const releases: (() => void)[] = [];
  const pin = async (digests: Iterable<Digest>) => {
    const { release, missing } = await deps.guard.acquire(digests);
    releases.push(release);
    return missing;
  };
  try {
    const base = plan.from
      ? await fromModel(deps, plan.from, pin)
      : await fromFiles(deps, plan.files ?? [], pin, onStatus);
    // Like Ollama, one status per layer of the final manifest, once all of them are known.
    const statusOf = new Map<ManifestLayer, string>();
    for (const layer of base.layers) statusOf.set(layer, `using existing layer ${layer.digest}`);
    let layers = base.layers;

    const addText = async (mediaType: string, text: string): Promise<ManifestLayer> => {
      const data = Buffer.from(text, "utf8");
      const digest = digestOfBytes(data);
      const missing = await pin([digest]);
      // Written while pinned, so a concurrent delete cannot collect it before our manifest lands.
      const created = missing.length > 0 && (await writeBlobBytes(deps.root, data)).created;
      const layer = { mediaType, digest, size: data.byteLength };
      statusOf.set(layer, `${created ? "creating new layer" : "using existing layer"} ${digest}`);
      return layer;
    };
    const without = (...types: string[]) => layers.filter((l) => !types.includes(l.mediaType));

    if (plan.template !== undefined) {
      layers = [
        ...without(LayerType.template, LayerType.prompt),
        await addText(LayerType.template, plan.template),
      ];
    }
    if (plan.system !== undefined) {
      layers = [...without(LayerType.system), await addText(LayerType.system, plan.system)];
    }
    for (const license of plan.licenses) layers = [...layers, await addText(LayerType.license, license)];

    const params = { ...(await existingParams(deps.root, layers)), ...plan.parameters };
    if (Object.keys(params).length > 0) {
      layers = [...without(LayerType.params), await addText(LayerType.params, `${JSON.stringify(params)}\n`)];
    }
    if (plan.messages) {
      layers = [
        ...without(LayerType.messages),
        await addText(LayerType.messages, `${JSON.stringify(plan.messages)}\n`),
      ];
    }

    const config = await addText(MEDIA_TYPE_CONFIG, configJson(base.summary, base.inherited));
    for (const layer of layers) {
      const status = statusOf.get(layer);
      if (status) onStatus({ status });
    }
    onStatus({ status: "writing manifest" });
    await writeFileAtomic(
      manifestPath(deps.root, target),
      serializeManifest(config, layers),
      STORE_FILE_WRITE,
    );

    if (old) {
      const kept = new Set<string>([config.digest, ...layers.map((l) => l.digest)]);
      await deps.guard.collect([...manifestDigests(old)].filter((d) => !kept.has(d)));
    }
  } finally {
    for (const release of releases) release();
  }
}

interface BaseLayers {
  layers: ManifestLayer[];
  summary: GgufSummary;
  /** Config fields carried over from the base model (renderer, parser, requires). */
  inherited: Record<string, unknown>;
}

type Pin = (digests: Iterable<Digest>) => Promise<Digest[]>;

async function fromModel(deps: CreateDeps, from: ModelName, pin: Pin): Promise<BaseLayers> {
  const source = await deps.resolve(from);
  if (!source) throw new AppError("model_not_found", `model '${displayName(from)}' not found`);
  const { manifest } = await readManifestFile(source.path);
  const missing = await pin(manifestDigests(manifest));
  if (missing.length > 0)
    throw new AppError("blob_not_found", `blob ${missing[0]} of the base model is missing`);
  const model = manifest.layers.find((l) => l.mediaType === LayerType.model);
  if (!model) throw new AppError("unsupported", `model ${displayName(source.name)} has no GGUF model layer`);
  const summary = await deps.gguf.summary(model.digest, blobPath(deps.root, model.digest));
  const layers = manifest.layers.map((l) => ({ ...l, from: displayName(source.name) }));
  return { layers, summary, inherited: await inheritedConfig(deps.root, manifest.config.digest) };
}

async function fromFiles(
  deps: CreateDeps,
  files: [string, Digest][],
  pin: Pin,
  onStatus: Status,
): Promise<BaseLayers> {
  const layers: ManifestLayer[] = [];
  let summary: GgufSummary | undefined;
  for (const [path, digest] of files) {
    onStatus({ status: "parsing GGUF" });
    const missing = await pin([digest]);
    if (missing.length > 0)
      throw new AppError("blob_not_found", `blob ${digest} not found (upload it first)`);
    // Validate the whole header before any manifest names this blob: a truncated or hostile
    // file fails here with invalid_gguf and the model is never listed.
    const file = blobPath(deps.root, digest);
    const info = await deps.readInfo(file);
    const mediaType = mediaTypeOf(info);
    if (mediaType === LayerType.model) {
      if (summary)
        throw new AppError("unsupported", "split GGUF models (more than one model file) are not supported");
      summary = {
        architecture: info.architecture,
        parameterCount: info.parameterCount,
        fileType: info.fileType,
      };
    }
    const size = (await blobSize(deps.root, digest)) ?? Number(info.fileSize);
    layers.push({ mediaType, digest, size, from: path });
  }
  if (!summary)
    throw new AppError("invalid_request", "no model file among files (only projectors or adapters)");
  // The model layer first: readers (and Ollama) take the first model layer as the weights.
  layers.sort((a, b) => Number(b.mediaType === LayerType.model) - Number(a.mediaType === LayerType.model));
  return { layers, summary, inherited: {} };
}

async function existingParams(root: string, layers: ManifestLayer[]): Promise<Record<string, unknown>> {
  const layer = layers.find((l) => l.mediaType === LayerType.params);
  if (!layer) return {};
  try {
    const value = JSON.parse(await readTextBlob(root, layer.digest)) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // A base model with an unreadable params layer: its defaults are dropped, not fatal.
  }
  return {};
}

async function inheritedConfig(root: string, digest: Digest): Promise<Record<string, unknown>> {
  try {
    const config = JSON.parse(await readTextBlob(root, digest)) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const key of ["renderer", "parser", "requires"]) {
      if (typeof config[key] === "string" && config[key] !== "") out[key] = config[key];
    }
    return out;
  } catch {
    return {};
  }
}

/** The config blob in Ollama's ConfigV2 field order (what `ollama` itself reads back). */
function configJson(summary: GgufSummary, inherited: Record<string, unknown>): string {
  return `${JSON.stringify({
    model_format: "gguf",
    model_family: summary.architecture,
    model_families: [summary.architecture],
    model_type: formatParameterCount(summary.parameterCount),
    file_type: quantizationName(summary.fileType),
    ...inherited,
    architecture: "amd64",
    os: "linux",
  })}\n`;
}
