import { Hono } from "hono";
import type { VersionResponseWire } from "../../../api/ollama/responses.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { chatRoute } from "./chat.js";
import { blobExistsRoute, blobUploadRoute, createRoute } from "./create.js";
import { embeddingsRoute, embedRoute } from "./embed.js";
import { generateRoute } from "./generate.js";
import { pullRoute } from "./pull.js";
import { copyRoute, deleteRoute, psRoute, showRoute, tagsRoute } from "./models.js";

/**
 * The Ollama API (`/` and `/api/*`). GET routes also answer HEAD (Hono runs the GET handler and
 * drops the body), which is how Ollama's `HEAD /` and `HEAD /api/blobs/:digest` are served.
 * Errors are thrown as AppError and rendered by the server's error handler (./errors.ts).
 */
export function ollamaRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => c.text("Ollama is running"));
  app.get("/api/version", (c) => c.json({ version: deps.version } satisfies VersionResponseWire));
  app.post("/api/generate", generateRoute(deps));
  app.post("/api/chat", chatRoute(deps));
  app.post("/api/embed", embedRoute(deps));
  app.post("/api/embeddings", embeddingsRoute(deps));
  app.get("/api/tags", tagsRoute(deps));
  app.post("/api/show", showRoute(deps));
  app.get("/api/ps", psRoute(deps));
  app.post("/api/copy", copyRoute(deps));
  app.delete("/api/delete", deleteRoute(deps));
  app.post("/api/create", createRoute(deps));
  app.post("/api/pull", pullRoute(deps));
  app.get("/api/blobs/:digest", blobExistsRoute(deps));
  app.post("/api/blobs/:digest", blobUploadRoute(deps));
  return app;
}

/** Path prefix of blob uploads, which bypass the JSON body limit. */
export const BLOB_UPLOAD_PREFIX = "/api/blobs/";
