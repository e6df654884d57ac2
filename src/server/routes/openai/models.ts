import type { Context } from "hono";
import type { ModelList, ModelObject } from "../../../api/openai/models.js";
import type { ModelRecord } from "../../../models/types.js";
import type { ServerDeps } from "../../context.js";

function toModelObject(record: ModelRecord): ModelObject {
  return {
    id: record.name,
    object: "model",
    created: Math.floor(record.modifiedAt.getTime() / 1000),
    // Ollama reports the namespace ("library" for official models) as the owner.
    owned_by: record.ref.namespace,
  };
}

/** GET /v1/models */
export function listModels(deps: ServerDeps) {
  return async (c: Context): Promise<Response> => {
    const records = await deps.store.list();
    const body: ModelList = { object: "list", data: records.map(toModelObject) };
    return c.json(body);
  };
}

/**
 * GET /v1/models/{model}. Names hold "/" and ":" (`hf.co/user/repo:Q4_K_M`): the route matches
 * the rest of the path, and the openai client's `%2F`-encoded form decodes to the same name.
 */
export function retrieveModel(deps: ServerDeps) {
  return async (c: Context): Promise<Response> => {
    const name = c.req.param("model") ?? "";
    const record = await deps.store.get(name);
    return c.json(toModelObject(record));
  };
}
