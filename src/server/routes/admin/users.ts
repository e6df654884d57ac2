import { Hono, type Context } from "hono";
import {
  createUserRequestSchema,
  setPasswordRequestSchema,
  setRoleRequestSchema,
  signupSettingSchema,
  toUserWire,
} from "../../../api/users-client.js";
import {
  createUser,
  isSignupEnabled,
  listUsers,
  removeUser,
  setPassword,
  setRole,
  setSignupEnabled,
  setStatus,
} from "../../../auth/users.js";
import { AppError } from "../../../errors.js";
import type { Database } from "../../../store/types.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { parseWire } from "../../validate.js";
import { actorOf } from "../auth/request-info.js";

function requireDb(deps: ServerDeps): Database {
  if (!deps.db) throw new AppError("not_found", "404 page not found");
  return deps.db;
}

/**
 * A change to an account may end the very session this request came with (an admin changing
 * their own role or password): stop tracking it first so the answer is not cut mid-way.
 */
function keepOwnAnswer(c: Context<AppEnv>): void {
  c.get("untrackRequest")?.();
}

/** `/api/admin/users`: list, create, delete, role, password, activate, disable. */
export function userRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const users = await listUsers(requireDb(deps));
    return c.json({ users: users.map(toUserWire) });
  });

  app.post("/", async (c) => {
    const body = parseWire(createUserRequestSchema, await readJsonBody(c));
    const user = await createUser(requireDb(deps), body, actorOf(c));
    return c.json({ user: toUserWire(user) }, 201);
  });

  app.delete("/:username", async (c) => {
    keepOwnAnswer(c);
    await removeUser(requireDb(deps), c.req.param("username"), actorOf(c));
    return c.body(null, 204);
  });

  app.put("/:username/role", async (c) => {
    const { role } = parseWire(setRoleRequestSchema, await readJsonBody(c));
    keepOwnAnswer(c);
    const user = await setRole(requireDb(deps), c.req.param("username"), role, actorOf(c));
    return c.json({ user: toUserWire(user) });
  });

  app.put("/:username/password", async (c) => {
    const { password } = parseWire(setPasswordRequestSchema, await readJsonBody(c));
    keepOwnAnswer(c);
    await setPassword(requireDb(deps), c.req.param("username"), password, actorOf(c));
    return c.body(null, 204);
  });

  app.post("/:username/activate", async (c) => {
    const user = await setStatus(requireDb(deps), c.req.param("username"), "active", actorOf(c));
    return c.json({ user: toUserWire(user) });
  });

  // Ends the user's sessions and cuts their open requests (setStatus); refused for the last admin.
  app.post("/:username/disable", async (c) => {
    keepOwnAnswer(c);
    const user = await setStatus(requireDb(deps), c.req.param("username"), "disabled", actorOf(c));
    return c.json({ user: toUserWire(user) });
  });

  return app;
}

/** `/api/admin/settings/signup`: whether self sign-up is open (default closed). */
export function signupSettingRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", async (c) => c.json({ enabled: await isSignupEnabled(requireDb(deps)) }));
  app.put("/", async (c) => {
    const { enabled } = parseWire(signupSettingSchema, await readJsonBody(c));
    await setSignupEnabled(requireDb(deps), enabled, actorOf(c));
    return c.json({ enabled });
  });
  return app;
}
