import { Hono, type Context } from "hono";
import {
  createConversationRequestSchema,
  listConversationsQuerySchema,
  patchConversationRequestSchema,
  sendMessageRequestSchema,
} from "../../../api/chat.js";
import type { ChatService } from "../../../chat/service.js";
import { AppError } from "../../../errors.js";
import { listConversations } from "../../../store/conversation-search.js";
import { createConversation, deleteConversation, patchConversation } from "../../../store/conversations.js";
import { openConversation } from "../../../store/messages.js";
import type { Database } from "../../../store/types.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { parseWire } from "../../validate.js";
import { chatStreamResponse } from "./stream.js";
import { toConversationWire, toMessageWire } from "./wire.js";

/** The user a web route acts for: a session's or an API key's; tokens without a user get 401. */
export function webUserId(c: Context<AppEnv>): string {
  const userId = c.get("principal")?.userId;
  if (userId === undefined) {
    throw new AppError("unauthorized", "unauthorized: log in (or use an API key of a user) to chat");
  }
  return userId;
}

/** `/api/aixcl/conversations…`: list, create, open, change and delete chats, and send messages. */
export function conversationRoutes(deps: ServerDeps & { db: Database }, chat: ChatService): Hono<AppEnv> {
  const { db } = deps;
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const query = parseWire(listConversationsQuerySchema, c.req.query());
    const page = await listConversations(db, webUserId(c), query);
    return c.json({
      conversations: page.conversations.map(toConversationWire),
      next_cursor: page.nextCursor,
    });
  });

  app.post("/", async (c) => {
    const userId = webUserId(c);
    const body = parseWire(createConversationRequestSchema, await readJsonBody(c));
    return c.json(toConversationWire(await createConversation(db, userId, body)), 201);
  });

  app.get("/:id", async (c) => {
    const { conversation, messages } = await openConversation(db, webUserId(c), c.req.param("id"));
    return c.json({ conversation: toConversationWire(conversation), messages: messages.map(toMessageWire) });
  });

  app.patch("/:id", async (c) => {
    const userId = webUserId(c);
    const body = parseWire(patchConversationRequestSchema, await readJsonBody(c));
    const conversation = await patchConversation(db, userId, c.req.param("id"), body);
    // What a prompt is built from changed (a title or a pin changes none of it).
    if (body.system !== undefined || body.options !== undefined) chat.forget(conversation.id);
    return c.json(toConversationWire(conversation));
  });

  app.delete("/:id", async (c) => {
    const id = c.req.param("id");
    await deleteConversation(db, webUserId(c), id);
    chat.abandonConversation(id);
    return c.body(null, 204);
  });

  app.post("/:id/messages", async (c) => {
    const userId = webUserId(c);
    const body = parseWire(sendMessageRequestSchema, await readJsonBody(c));
    const stream = await chat.send(userId, c.req.param("id"), {
      content: body.content,
      parentId: body.parent_id,
      ...(body.model !== undefined ? { model: body.model } : {}),
    });
    return chatStreamResponse(c, stream, deps.logger);
  });

  return app;
}
