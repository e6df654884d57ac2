/** A parsed model name: `[host/][namespace/]model[:tag]`, defaults filled in. */
export interface ModelName {
  host: string;
  namespace: string;
  model: string;
  tag: string;
}

/** Ollama's `details` object (tags, show, ps). */
export interface ModelDetails {
  parent_model: string;
  format: string;
  family: string;
  families: string[] | null;
  parameter_size: string;
  quantization_level: string;
}

/** One installed model: its manifest plus what was read from its layers and GGUF header. */
export interface ModelRecord {
  /** Display name as Ollama shows it: `tiny:latest`, `ns/m:tag`, `host/ns/m:tag`. */
  name: string;
  ref: ModelName;
  /** sha256 hex (no prefix) of the manifest file bytes: the `digest` of /api/tags. */
  digest: string;
  /** Sum of layer sizes plus the config blob, bytes (as Ollama's /api/tags reports). */
  size: number;
  modifiedAt: Date;
  /** Absolute path of the GGUF model blob. */
  modelPath: string;
  /** `sha256:<hex>` of the GGUF model blob. */
  modelDigest: string;
  /** Chat template from a template layer (overrides the GGUF's `tokenizer.chat_template`). */
  template?: string;
  /** System prompt from a system layer. */
  system?: string;
  /** Default options from a params layer (Ollama option names, e.g. `stop`, `temperature`). */
  params: Record<string, unknown>;
  license?: string[];
  /** Preset messages from a messages layer. */
  messages?: { role: string; content: string }[];
  details: ModelDetails;
  /** Vision projector blobs (application/vnd.ollama.image.projector). */
  projectorPaths?: string[];
  /** LoRA adapter blobs (application/vnd.ollama.image.adapter). */
  adapterPaths?: string[];
  /**
   * The model its `draft_model` parameter names, attached by the inference service when
   * engine.speculative is "draft" (the store itself never sets it).
   */
  draft?: { name: string; modelPath: string; modelDigest: string };
}

/** Status lines of /api/create and /api/pull, as Ollama streams them. */
export interface ProgressStatus {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

export interface CreateModelRequest {
  /** Target name (validated by Ollama's rules). */
  name: string;
  /** Existing model to base on (Ollama `from`), or absent when `files` gives the GGUF. */
  from?: string;
  /** File name → `sha256:<hex>` of a blob already uploaded with POST /api/blobs/:digest. */
  files?: Record<string, string>;
  template?: string;
  system?: string;
  parameters?: Record<string, unknown>;
  license?: string | string[];
  messages?: { role: string; content: string }[];
}

/** The Ollama-layout model store (manifests + content-addressed blobs). */
export interface ModelStore {
  readonly root: string;
  list(): Promise<ModelRecord[]>;
  /** Resolves a client-given name; throws AppError invalid_model_name / model_not_found. */
  get(name: string): Promise<ModelRecord>;
  copy(source: string, destination: string): Promise<void>;
  /** Removes the manifest and every blob no other manifest references. */
  delete(name: string): Promise<void>;
  hasBlob(digest: string): Promise<boolean>;
  /** Streams a blob in, verifying its sha256 against `digest`; nothing is kept on mismatch. */
  writeBlob(digest: string, body: AsyncIterable<Uint8Array>): Promise<void>;
  create(request: CreateModelRequest, onStatus: (status: ProgressStatus) => void): Promise<ModelRecord>;
}
