import { Hono } from "hono";
import type { ChatModels } from "../../../chat/models.js";
import type { ChatService } from "../../../chat/service.js";
import type { Database } from "../../../store/types.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { conversationRoutes, webUserId } from "./conversations.js";
import { chatStreamResponse } from "./stream.js";
import { toChatModelWire, toMessageWire } from "./wire.js";

/**
 * The web app's JSON routes, mounted at `/api/aixcl` (docs/web-app.md) when the platform has a
 * database. Every route acts for the principal's user; ids of other users' chats answer 404.
 */
export function webApiRoutes(
  deps: ServerDeps & { db: Database },
  chat: ChatService,
  models: ChatModels,
): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/models", async (c) => {
    webUserId(c);
    return c.json({ models: (await models.list()).map(toChatModelWire) });
  });

  app.route("/conversations", conversationRoutes(deps, chat));

  app.post("/messages/:id/regenerate", async (c) => {
    const stream = await chat.regenerate(webUserId(c), c.req.param("id"));
    return chatStreamResponse(c, stream, deps.logger);
  });

  app.get("/messages/:id/stream", async (c) => {
    const stream = await chat.attach(webUserId(c), c.req.param("id"));
    return chatStreamResponse(c, stream, deps.logger);
  });

  app.post("/messages/:id/stop", async (c) => {
    return c.json(toMessageWire(await chat.stop(webUserId(c), c.req.param("id"))));
  });

  return app;
}
