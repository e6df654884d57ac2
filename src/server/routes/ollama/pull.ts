import type { Handler } from "hono";
import { pullRequestSchema } from "../../../api/ollama/requests.js";
import type { StatusWire } from "../../../api/ollama/responses.js";
import { AppError } from "../../../errors.js";
import { parseModelName } from "../../../models/names.js";
import type { ProgressStatus } from "../../../models/types.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { linkAbort, primeIterator, progressIterator } from "../../streaming.js";
import { parseWire } from "../../validate.js";
import { ndjsonResponse } from "./ndjson.js";

const SUCCESS: StatusWire = { status: "success" };

/**
 * POST /api/pull: streams Ollama's progress lines (`pulling manifest`, one `pulling <digest>` line
 * per layer as bytes arrive, `verifying sha256 digest`, `writing manifest`, `success`); with
 * `stream: false` answers `{"status":"success"}` once done. The name is checked before anything
 * runs. A client that hangs up stops its share of the download; the partial file stays for a resume.
 */
export function pullRoute(deps: ServerDeps): Handler<AppEnv> {
  return async (c) => {
    const wire = parseWire(pullRequestSchema, await readJsonBody(c));
    const puller = deps.puller;
    if (!puller) throw new AppError("unsupported", "pulling models is not available");
    parseModelName(wire.model);
    const options = { insecure: wire.insecure, signal: c.req.raw.signal };
    if (wire.stream === false) {
      await puller.pull(wire.model, options, () => undefined);
      return c.json(SUCCESS);
    }
    const abort = linkAbort(c.req.raw.signal, c.get("cut"));
    const statuses = progressIterator<ProgressStatus>((emit) =>
      puller.pull(wire.model, { ...options, signal: abort.signal }, emit),
    );
    const primed = await primeIterator(statuses).catch((error: unknown) => {
      abort.dispose();
      throw error;
    });
    return ndjsonResponse<ProgressStatus>(c, primed, {
      logger: deps.logger,
      onCancel: () => abort.abort(new AppError("client_closed", "client closed the connection")),
      onEnd: abort.dispose,
      render: (status): StatusWire => status,
    });
  };
}
