import type { Handler } from "hono";
import { createRequestSchema } from "../../../api/ollama/requests.js";
import type { StatusWire } from "../../../api/ollama/responses.js";
import { checkTemplate } from "../../../engine/inference/template.js";
import { AppError, isAppError } from "../../../errors.js";
import { parseDigest } from "../../../models/manifest.js";
import type { CreateModelRequest, ProgressStatus } from "../../../models/types.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { guardBody, readJsonBody } from "../../middleware/body.js";
import { primeIterator, progressIterator } from "../../streaming.js";
import { parseWire } from "../../validate.js";
import { ndjsonResponse } from "./ndjson.js";

const SUCCESS: StatusWire = { status: "success" };

async function installed(deps: ServerDeps, name: string): Promise<boolean> {
  try {
    await deps.store.get(name);
    return true;
  } catch (error) {
    if (isAppError(error) && error.code === "model_not_found") return false;
    throw error;
  }
}

/**
 * POST /api/create: from uploaded `files` (a GGUF blob) or `from` an installed model, plus
 * template/system/parameters/license/messages layers. Streams status lines ending in
 * `{"status":"success"}`; with `stream: false` answers that one object. Failures before the first
 * status are HTTP errors; later ones an in-band `{"error"}` line.
 */
export function createRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(createRequestSchema, await readJsonBody(c));
    if (wire.quantize)
      throw new AppError("unsupported", "invalid request: quantize is not supported", { param: "quantize" });
    if (wire.adapters && Object.keys(wire.adapters).length > 0) {
      throw new AppError("unsupported", "invalid request: adapters are not supported", { param: "adapters" });
    }
    // As Ollama: a template that cannot work is refused here, not by every request to the model.
    if (wire.template) checkTemplate(wire.template);
    const request: CreateModelRequest = {
      name: wire.model,
      from: wire.from,
      files: wire.files,
      template: wire.template,
      system: wire.system,
      parameters: wire.parameters,
      license: wire.license,
      messages: wire.messages,
    };
    // As Ollama: a `from` model that is not installed is pulled first (its progress lines are
    // part of the create's stream).
    const run = async (emit: (status: ProgressStatus) => void) => {
      if (request.from && deps.puller && !(await installed(deps, request.from))) {
        await deps.puller.pull(request.from, {}, (status) => {
          if (status.status !== "success") emit(status);
        });
      }
      await deps.store.create(request, emit);
    };
    if (wire.stream === false) {
      await run(() => undefined);
      return c.json(SUCCESS);
    }
    const statuses = progressIterator<ProgressStatus>(async (emit) => {
      await run(emit);
      emit(SUCCESS);
    });
    const primed = await primeIterator(statuses);
    return ndjsonResponse<ProgressStatus>(c, primed, {
      logger: deps.logger,
      // A create runs to completion (it is short, and stopping halfway would only leave orphan blobs).
      onCancel: () => undefined,
      render: (status): StatusWire => status,
    });
  };
}

/** HEAD /api/blobs/:digest: 200 when the blob is present, 404 otherwise (no body either way). */
export function blobExistsRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    // Hono answers HEAD with the GET route; a plain GET on a blob is not part of the API.
    if (c.req.method !== "HEAD") throw new AppError("not_found", "not found");
    const digest = parseDigest(c.req.param("digest"));
    return c.body(null, (await deps.store.hasBlob(digest)) ? 200 : 404);
  };
}

/**
 * POST /api/blobs/:digest: streams the raw body into the store, which hashes while writing and
 * keeps nothing on a mismatch (400). The digest format is checked before a byte is read. Exempt
 * from the JSON body limit: model files are gigabytes.
 */
export function blobUploadRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const digest = parseDigest(c.req.param("digest"));
    if (await deps.store.hasBlob(digest)) return c.body(null, 200);
    const body =
      c.req.raw.body ?? new ReadableStream<Uint8Array>({ start: (controller) => controller.close() });
    await deps.store.writeBlob(digest, guardBody(body, deps.config.server.body_timeout * 1000));
    return c.body(null, 201);
  };
}
