/**
 * `ollama pull` for aixcl: manifest → every layer's blob (parallel Range parts, resumable, hashed
 * while downloading) → manifest installed atomically by the store. Used by `POST /api/pull` and
 * by `aixcl models add` when no server runs. Progress lines are Ollama's, in Ollama's order.
 */
import { isAbsolute, relative } from "node:path";
import type { Config } from "../../config/schema.js";
import type { Logger } from "../../logger.js";
import { blobSize } from "../blobs.js";
import { digestHex, parseManifest, type Digest, type ManifestLayer } from "../manifest.js";
import { displayName, nameKey, parseModelName, qualifiedName } from "../names.js";
import type { LocalModelStore } from "../store.js";
import type { ModelName, ProgressStatus } from "../types.js";
import { downloadBlob, type PartOptions } from "./download.js";
import { DEFAULT_PART_SIZING } from "./parts.js";
import { createHostPolicy } from "./policy.js";
import { createProxySelector } from "./proxy.js";
import { createRegistryClient, type RegistrySession } from "./registry.js";
import { createSharedRuns } from "./shared.js";

interface PullOptions {
  /** Allow plain http to this registry for this pull (Ollama's `insecure`). Default false. */
  insecure?: boolean;
  signal?: AbortSignal;
}

export interface Puller {
  /** Pulls `name`; resolves after `{"status":"success"}` was emitted. Throws AppError. */
  pull(name: string, options: PullOptions, onProgress: (status: ProgressStatus) => void): Promise<void>;
  /** Aborts running pulls (their partial files stay for a resume) and closes connections. Idempotent. */
  close(): void;
}

export interface PullerOptions {
  store: LocalModelStore;
  config: Readonly<Config>;
  logger: Logger;
  /**
   * Range-part tuning. Defaults: a blob is split in about 16 parts of 64–256 MiB (as Ollama),
   * 4 downloading at once, each tried up to 6 times with pauses from 1 s. Tests lower them to
   * exercise parts, retries and resume on small models.
   */
  parts?: Partial<PartOptions>;
  /** Connections per host, and the silence after which one fails (ms). Defaults 8 and 30000. */
  connections?: { max?: number; timeoutMs?: number };
}

const DEFAULT_PARTS: PartOptions = {
  ...DEFAULT_PART_SIZING,
  concurrency: 4,
  attempts: 6,
  backoffMs: 1000,
};
/** Least time between two progress lines of one layer, ms (the last line is always sent). */
const PROGRESS_INTERVAL_MS = 100;

/** Ollama's JSON omits zero counts (Go `omitempty`). */
function layerStatus(digest: Digest, total: number, completed: number): ProgressStatus {
  return {
    status: `pulling ${digestHex(digest).slice(0, 12)}`,
    digest,
    ...(total > 0 ? { total } : {}),
    ...(completed > 0 ? { completed } : {}),
  };
}

export function createPuller(options: PullerOptions): Puller {
  const { store, config, logger } = options;
  const parts: PartOptions = { ...DEFAULT_PARTS, ...options.parts };
  const policy = createHostPolicy({
    insecure: config.registry.insecure,
    allowPrivate: config.registry.allow_private,
  });
  const client = createRegistryClient({
    policy,
    proxyFor: createProxySelector({
      httpsProxy: config.registry.https_proxy,
      httpProxy: config.registry.http_proxy,
      noProxy: config.registry.no_proxy,
    }),
    maxConnections: options.connections?.max,
    timeoutMs: options.connections?.timeoutMs,
  });
  // Messages name the store as the user configured it, never by an absolute path.
  const fromHome = relative(config.home, store.root);
  const storeLabel =
    fromHome === ""
      ? "the aixcl home"
      : fromHome.startsWith("..") || isAbsolute(fromHome)
        ? "models.path"
        : fromHome;
  const closing = new AbortController();
  const models = createSharedRuns<ProgressStatus>((s) => s.digest ?? s.status);
  const blobs = createSharedRuns<number>(() => "completed");

  const pullLayer = async (
    session: RegistrySession,
    layer: ManifestLayer,
    emit: (status: ProgressStatus) => void,
    signal: AbortSignal,
  ) => {
    if ((await blobSize(store.root, layer.digest)) === layer.size) {
      emit(layerStatus(layer.digest, layer.size, layer.size));
      return;
    }
    let last = 0;
    let lastCompleted = -1;
    await blobs.run(
      layer.digest,
      (report, shared) =>
        downloadBlob({
          ...parts,
          root: store.root,
          digest: layer.digest,
          size: layer.size,
          session,
          logger,
          storeLabel,
          signal: shared,
          onProgress: report,
        }),
      (completed) => {
        const now = Date.now();
        if (completed === lastCompleted || (now - last < PROGRESS_INTERVAL_MS && completed < layer.size))
          return;
        last = now;
        lastCompleted = completed;
        emit(layerStatus(layer.digest, layer.size, completed));
      },
      signal,
    );
    if (lastCompleted !== layer.size) emit(layerStatus(layer.digest, layer.size, layer.size));
  };

  const pullOnce = async (
    name: ModelName,
    insecure: boolean,
    emit: (status: ProgressStatus) => void,
    signal: AbortSignal,
  ) => {
    emit({ status: "pulling manifest" });
    const session = client.session(name, insecure);
    const bytes = await session.manifest(signal);
    // Every digest is checked here, before any file is created (CVE-2024-37032).
    const manifest = parseManifest(bytes);
    const seen = new Set<string>();
    for (const layer of [...manifest.layers, manifest.config]) {
      if (seen.has(layer.digest)) continue;
      seen.add(layer.digest);
      await pullLayer(session, layer, emit, signal);
    }
    // Each blob was hashed as it arrived and renamed into place only on a match.
    emit({ status: "verifying sha256 digest" });
    emit({ status: "writing manifest" });
    const { removed } = await store.installManifest(qualifiedName(name), bytes);
    if (removed > 0) emit({ status: "removing unused layers" });
    logger.info({ model: displayName(name), layers: seen.size }, "model pulled");
    emit({ status: "success" });
  };

  return {
    async pull(text, pullOptions, onProgress) {
      const name = parseModelName(text);
      const insecure = pullOptions.insecure === true;
      const signal = pullOptions.signal
        ? AbortSignal.any([pullOptions.signal, closing.signal])
        : closing.signal;
      await models.run(
        `${nameKey(name)}|${insecure ? "http" : "https"}`,
        (emit, shared) => pullOnce(name, insecure, emit, AbortSignal.any([shared, closing.signal])),
        onProgress,
        signal,
      );
    },

    close() {
      if (closing.signal.aborted) return;
      closing.abort(new Error("puller closed"));
      client.close();
    },
  };
}
