/**
 * API key management over HTTP. `keyRoutes` is the admin API (`/api/admin/keys`: any user's keys;
 * the admin router has already required an admin principal). `ownKeyRoutes` is the self-service
 * API for a signed-in user (`/api/auth/keys`: only their own keys, only through a web session).
 * The full key appears in exactly one response: the one that created it.
 */
import { Hono, type Context } from "hono";
import {
  createApiKey,
  expandScopes,
  listApiKeys,
  parseScopes,
  resolveKeyOwner,
  revokeApiKey,
} from "../../../auth/api-keys.js";
import type { Principal } from "../../../auth/types.js";
import { AppError } from "../../../errors.js";
import type { Database } from "../../../store/types.js";
import {
  createKeyRequestSchema,
  toKeyWire,
  type CreatedKeyWire,
  type KeyListWire,
} from "../../../api/keys-client.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { actorOf } from "../auth/request-info.js";
import { parseWire } from "../../validate.js";

function database(deps: ServerDeps): Database {
  if (deps.db === undefined) {
    throw new AppError("unsupported", "API keys need the platform database (profile bld or sys)");
  }
  return deps.db;
}

function principalOf(c: Context<AppEnv>): Principal {
  const principal = c.get("principal");
  if (principal === undefined) throw new AppError("unauthorized", "unauthorized: sign in first");
  return principal;
}

async function readCreateRequest(c: Context<AppEnv>) {
  const wire = parseWire(createKeyRequestSchema, await readJsonBody(c));
  const expiresAt = wire.expires_at === undefined ? undefined : new Date(wire.expires_at);
  return { ...wire, scopes: wire.scopes === undefined ? undefined : parseScopes(wire.scopes), expiresAt };
}

/** `/api/admin/keys`: create for any user, list everyone's (or `?user=`), revoke any. */
export function keyRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const db = database(deps);
    const username = c.req.query("user");
    const filter = username === undefined ? {} : { userId: (await resolveKeyOwner(db, { username })).id };
    const keys = await listApiKeys(db, filter);
    return c.json({ keys: keys.map((record) => toKeyWire(record)) } satisfies KeyListWire);
  });

  app.post("/", async (c) => {
    const db = database(deps);
    const principal = principalOf(c);
    const request = await readCreateRequest(c);
    // Without `user`, the key is the caller's; the local CLI token and the static key act for no
    // user, so theirs goes to the first admin account.
    const owner = await resolveKeyOwner(
      db,
      request.user !== undefined ? { username: request.user } : { userId: principal.userId },
    );
    const { key, record } = await createApiKey(
      db,
      {
        userId: owner.id,
        name: request.name,
        ...(request.scopes ? { scopes: request.scopes } : {}),
        ...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
      },
      actorOf(c),
    );
    return c.json({ ...toKeyWire(record), key } satisfies CreatedKeyWire, 201);
  });

  app.delete("/:id", async (c) => {
    const record = await revokeApiKey(database(deps), c.req.param("id"), {}, actorOf(c));
    return c.json(toKeyWire(record));
  });

  return app;
}

/**
 * The signed-in user's own keys. Only a web session may manage them: a key that could mint keys
 * would let a leaked key outlive its own revocation. New keys get at most the session's scopes.
 */
function sessionUser(c: Context<AppEnv>): Principal & { userId: string } {
  const principal = principalOf(c);
  if (principal.via !== "session" || principal.userId === undefined) {
    throw new AppError("forbidden", "forbidden: API keys are managed from a signed-in web session");
  }
  return principal as Principal & { userId: string };
}

/** `/api/auth/keys`: list, create and revoke the caller's own keys. */
export function ownKeyRoutes(deps: ServerDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/", async (c) => {
    const { userId } = sessionUser(c);
    const keys = await listApiKeys(database(deps), { userId });
    return c.json({ keys: keys.map((record) => toKeyWire(record)) } satisfies KeyListWire);
  });

  app.post("/", async (c) => {
    const principal = sessionUser(c);
    const request = await readCreateRequest(c);
    if (request.user !== undefined) {
      throw new AppError("invalid_request", "user: only an admin creates keys for other users", {
        param: "user",
      });
    }
    const allowed = expandScopes(principal.scopes);
    const scopes = request.scopes ?? ["inference"];
    const excess = scopes.find((scope) => !allowed.includes(scope));
    if (excess !== undefined) {
      throw new AppError("forbidden", `forbidden: your account cannot grant the ${excess} scope`);
    }
    const { key, record } = await createApiKey(
      database(deps),
      {
        userId: principal.userId,
        name: request.name,
        scopes,
        ...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
      },
      actorOf(c),
    );
    return c.json({ ...toKeyWire(record), key } satisfies CreatedKeyWire, 201);
  });

  app.delete("/:id", async (c) => {
    const { userId } = sessionUser(c);
    const record = await revokeApiKey(database(deps), c.req.param("id"), { userId }, actorOf(c));
    return c.json(toKeyWire(record));
  });

  return app;
}
