import { Hono } from "hono";
import type { ServerDeps } from "../../context.js";
import { chatCompletions } from "./chat.js";
import { completions } from "./completions.js";
import { embeddings } from "./embeddings.js";
import { listModels, retrieveModel } from "./models.js";

/**
 * The OpenAI-compatible API, routes relative to its `/v1` mount. Errors are thrown as AppError
 * and rendered by the server's error handler with `toOpenAIError` (./errors.ts).
 */
export function openaiRoutes(deps: ServerDeps): Hono {
  const app = new Hono();
  app.post("/chat/completions", chatCompletions(deps));
  app.post("/completions", completions(deps));
  app.post("/embeddings", embeddings(deps));
  app.get("/models", listModels(deps));
  app.get("/models/:model{.+}", retrieveModel(deps));
  return app;
}
