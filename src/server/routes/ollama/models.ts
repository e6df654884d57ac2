import type { Handler } from "hono";
import { copyRequestSchema, deleteRequestSchema, showRequestSchema } from "../../../api/ollama/requests.js";
import type { PsResponseWire, ShowResponseWire, TagsResponseWire } from "../../../api/ollama/responses.js";
import { showInfo } from "../../../models/show-info.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { parseWire } from "../../validate.js";
import { dateToRfc3339 } from "./time.js";

// What /api/ps shows for a model kept loaded forever: Go's time.Now() + max duration (~292 years).
const NEVER_MS = 2 ** 63 / 1e6;

/** GET /api/tags: installed models, newest first. */
export function tagsRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const records = await deps.store.list();
    const body: TagsResponseWire = {
      models: records.map((record) => ({
        name: record.name,
        model: record.name,
        modified_at: dateToRfc3339(record.modifiedAt),
        size: record.size,
        digest: record.digest,
        details: record.details,
      })),
    };
    return c.json(body);
  };
}

/** POST /api/show: template, parameters, modelfile, GGUF metadata, capabilities. */
export function showRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(showRequestSchema, await readJsonBody(c));
    const record = await deps.store.get(wire.model);
    const body: ShowResponseWire = await showInfo(record, { verbose: wire.verbose ?? false });
    return c.json(body);
  };
}

/** GET /api/ps: models loaded in runners right now. */
export function psRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const body: PsResponseWire = {
      models: deps.engine.loaded().map((loaded) => ({
        name: loaded.model.name,
        model: loaded.model.name,
        size: loaded.sizeBytes,
        digest: loaded.model.digest,
        details: loaded.model.details,
        expires_at: dateToRfc3339(loaded.expiresAt ?? new Date(Date.now() + NEVER_MS)),
        size_vram: loaded.sizeVramBytes,
        context_length: loaded.contextLength,
        size_rss: loaded.rssBytes,
      })),
    };
    return c.json(body);
  };
}

/** POST /api/copy: 200 with no body; 404 when the source is missing. */
export function copyRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(copyRequestSchema, await readJsonBody(c));
    await deps.store.copy(wire.source, wire.destination);
    return c.body(null, 200);
  };
}

/** DELETE /api/delete: 200 with no body; 404 when the model is missing. */
export function deleteRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(deleteRequestSchema, await readJsonBody(c));
    await deps.store.delete(wire.model);
    return c.body(null, 200);
  };
}
