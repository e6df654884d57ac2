/**
 * Typed client of the Ollama API, used by the CLI to talk to a running `aixcl serve`. Every
 * failure is an AppError: the server's message with a code derived from the HTTP status, or
 * ServerUnreachableError when nothing listens at the address (so the CLI can fall back to the
 * store or say "start the server").
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import type { ErrorCode } from "../errors.js";
import { codeForStatus, send, ServerUnreachableError } from "./http.js";
import type { ChatRequestWire, CreateRequestWire, GenerateRequestWire } from "./ollama/requests.js";
import type {
  ChatChunkWire,
  GenerateChunkWire,
  PsResponseWire,
  ShowResponseWire,
  StatusWire,
  TagsResponseWire,
  VersionResponseWire,
} from "./ollama/responses.js";
import { readNdjson } from "./ndjson.js";

export interface ApiClientOptions {
  /** Server root, e.g. `http://127.0.0.1:11434` (no trailing path). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer` when set (servers with `auth.api: required`). */
  apiKey?: string;
}

/** Requests as the client sends them: `stream` is decided by the method, not the caller. */
type GenerateInput = Omit<GenerateRequestWire, "stream">;
type ChatInput = Omit<ChatRequestWire, "stream">;
type CreateInput = Omit<CreateRequestWire, "stream">;

interface PullInput {
  model: string;
  /** Allow plain http for this pull (the server still checks its registry.insecure list). */
  insecure?: boolean;
}

export interface ApiClient {
  readonly baseUrl: string;
  /** True when a server answers at baseUrl; false only on connection refused / no such host. */
  reachable(): Promise<boolean>;
  version(): Promise<VersionResponseWire>;
  tags(): Promise<TagsResponseWire>;
  show(model: string, options?: { verbose?: boolean }): Promise<ShowResponseWire>;
  ps(): Promise<PsResponseWire>;
  copy(source: string, destination: string): Promise<void>;
  delete(model: string): Promise<void>;
  /** Streams /api/create status lines; throws on an in-band error line. */
  create(request: CreateInput, signal?: AbortSignal): AsyncGenerator<StatusWire>;
  /** Streams /api/pull status lines (Ollama's NDJSON progress). */
  pull(request: PullInput, signal?: AbortSignal): AsyncGenerator<StatusWire>;
  generate(request: GenerateInput, signal?: AbortSignal): AsyncGenerator<GenerateChunkWire>;
  chat(request: ChatInput, signal?: AbortSignal): AsyncGenerator<ChatChunkWire>;
  /** HEAD /api/blobs/:digest. `digest` is `sha256:<hex>`. */
  hasBlob(digest: string): Promise<boolean>;
  /** POST /api/blobs/:digest, streaming the file (never read whole into memory). */
  uploadBlob(digest: string, path: string, signal?: AbortSignal): Promise<void>;
  /** Loads a model (an empty generate), keeping it for `keepAlive` (server default when absent). */
  load(model: string, keepAlive?: string | number): Promise<void>;
  /** Unloads a model at once (an empty generate with keep_alive 0). */
  unload(model: string): Promise<void>;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");

  interface Call {
    method: string;
    body?: unknown;
    signal?: AbortSignal;
    /** Code for a 404 (model routes say model_not_found). */
    notFound?: ErrorCode;
    /** Statuses that are answers, not errors (HEAD on a blob: 404 = absent). */
    accept?: number[];
  }

  const call = (path: string, init: Call): Promise<Response> =>
    send(`${baseUrl}${path}`, {
      baseUrl,
      method: init.method,
      ...(init.body === undefined ? {} : { json: init.body }),
      ...(options.apiKey ? { token: options.apiKey } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
      ...(init.accept ? { accept: init.accept } : {}),
      codeFor: (status) => codeForStatus(status, init.notFound),
    });

  const json = async <T>(path: string, init: Call): Promise<T> =>
    (await (await call(path, init)).json()) as T;

  async function* stream<T>(path: string, body: unknown, signal?: AbortSignal): AsyncGenerator<T> {
    const response = await call(path, { method: "POST", body, signal, notFound: "model_not_found" });
    if (!response.body) return;
    yield* readNdjson<T>(response.body);
  }

  const emptyGenerate = async (model: string, keepAlive: string | number | undefined): Promise<void> => {
    const body: Record<string, unknown> = { model, stream: false };
    if (keepAlive !== undefined) body.keep_alive = keepAlive;
    await (await call("/api/generate", { method: "POST", body, notFound: "model_not_found" })).arrayBuffer();
  };

  return {
    baseUrl,
    async reachable() {
      try {
        await (await call("/api/version", { method: "GET" })).arrayBuffer();
        return true;
      } catch (error) {
        if (error instanceof ServerUnreachableError) return false;
        throw error;
      }
    },
    version: () => json("/api/version", { method: "GET" }),
    tags: () => json("/api/tags", { method: "GET" }),
    show: (model, show = {}) =>
      json("/api/show", {
        method: "POST",
        body: { model, verbose: show.verbose ?? false },
        notFound: "model_not_found",
      }),
    ps: () => json("/api/ps", { method: "GET" }),
    async copy(source, destination) {
      await (
        await call("/api/copy", {
          method: "POST",
          body: { source, destination },
          notFound: "model_not_found",
        })
      ).arrayBuffer();
    },
    async delete(model) {
      await (
        await call("/api/delete", { method: "DELETE", body: { model }, notFound: "model_not_found" })
      ).arrayBuffer();
    },
    create: (request, signal) => stream<StatusWire>("/api/create", { ...request, stream: true }, signal),
    pull: (request, signal) =>
      stream<StatusWire>(
        "/api/pull",
        { model: request.model, insecure: request.insecure, stream: true },
        signal,
      ),
    generate: (request, signal) =>
      stream<GenerateChunkWire>("/api/generate", { ...request, stream: true }, signal),
    chat: (request, signal) => stream<ChatChunkWire>("/api/chat", { ...request, stream: true }, signal),
    async hasBlob(digest) {
      const response = await call(`/api/blobs/${encodeURIComponent(digest)}`, {
        method: "HEAD",
        accept: [404],
      });
      return response.status === 200;
    },
    async uploadBlob(digest, path, signal) {
      const response = await send(`${baseUrl}/api/blobs/${encodeURIComponent(digest)}`, {
        baseUrl,
        method: "POST",
        // Streamed from the file, never read whole into memory.
        stream: {
          body: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>,
          contentType: "application/octet-stream",
        },
        ...(options.apiKey ? { token: options.apiKey } : {}),
        ...(signal ? { signal } : {}),
        codeFor: (status) => codeForStatus(status, "blob_not_found"),
      });
      await response.arrayBuffer();
    },
    load: (model, keepAlive) => emptyGenerate(model, keepAlive),
    unload: (model) => emptyGenerate(model, 0),
  };
}
