import { Hono, type Context } from "hono";
import { getCookie } from "hono/cookie";
import { credentialsRequestSchema, toUserWire, type MeWire } from "../../../api/users-client.js";
import { verifyPassword } from "../../../auth/passwords.js";
import { endSession, SESSION_COOKIE, startSession } from "../../../auth/sessions.js";
import { checkUsername, createUser, isSignupEnabled, recordAudit } from "../../../auth/users.js";
import { AppError } from "../../../errors.js";
import { findUserCredentials, touchLastLogin } from "../../../store/users.js";
import type { Database } from "../../../store/types.js";
import type { AppEnv } from "../../app-env.js";
import type { AuthContext, ServerDeps } from "../../context.js";
import { readJsonBody } from "../../middleware/body.js";
import { parseWire } from "../../validate.js";
import { clearSessionCookie, setSessionCookie } from "./cookie.js";
import { clientAddress, headerForRecord } from "./request-info.js";

/** The one answer for an unknown user and a wrong password: nothing tells them apart. */
const BAD_LOGIN = "invalid username or password";

function isValidUsername(username: string): boolean {
  try {
    checkUsername(username);
    return true;
  } catch {
    return false;
  }
}

/** What a login attempt leaves in the audit log besides actor and address. */
function attemptDetails(c: Context<AppEnv>): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  const agent = headerForRecord(c, "user-agent");
  const forwarded = headerForRecord(c, "x-forwarded-for");
  if (agent !== undefined) details.user_agent = agent;
  // Recorded, never trusted: see clientAddress.
  if (forwarded !== undefined) details.forwarded_for = forwarded;
  return details;
}

async function login(c: Context<AppEnv>, db: Database, auth: AuthContext): Promise<Response> {
  const { username, password } = parseWire(credentialsRequestSchema, await readJsonBody(c));
  const address = clientAddress(c);
  // A sealed vault answers 503 before the password is even looked at: no attempt is spent.
  const secret = await auth.sessionSecret();
  auth.loginLimiter.check(username, address);

  // A malformed name cannot exist; it still pays for a hash so it answers like any unknown user.
  const found = isValidUsername(username) ? await findUserCredentials(db, username) : undefined;
  const ok = await verifyPassword(found?.passwordHash, password);
  if (!ok || !found || found.user.status === "disabled") {
    auth.loginLimiter.recordFailure(username, address);
    // The name as typed, as text: it may be anything, including SQL or NULs.
    await recordAudit(db, { name: "anonymous", address }, "login.failure", username, attemptDetails(c));
    throw new AppError("unauthorized", BAD_LOGIN);
  }
  const { user } = found;
  const actor = { id: user.id, name: user.username, address };
  if (user.status === "pending") {
    // Only someone holding the password gets here, so this reveals nothing to a guesser.
    await recordAudit(db, actor, "login.pending", user.username, attemptDetails(c));
    throw new AppError("account_pending", "this account is waiting for an administrator's approval");
  }
  auth.loginLimiter.recordSuccess(username);

  // A new id at every login: a session id planted before login (fixation) never gains rights.
  const previous = getCookie(c, SESSION_COOKIE);
  if (previous !== undefined) {
    c.get("untrackRequest")?.();
    await endSession(db, previous, secret);
  }
  const session = await startSession(
    db,
    user.id,
    auth.sessionTtlMs,
    { address, userAgent: c.req.header("user-agent") },
    secret,
  );
  setSessionCookie(c, session.id, auth.sessionTtlMs);
  const loggedIn = (await touchLastLogin(db, user.id)) ?? user;
  await recordAudit(db, actor, "login.success", user.username, attemptDetails(c));
  return c.json({ user: toUserWire(loggedIn) });
}

/** The caller as `/me` describes it; undefined for an anonymous caller. */
function meOf(c: Context<AppEnv>): MeWire | undefined {
  const principal = c.get("principal");
  if (!principal) return undefined;
  return {
    username: principal.username ?? null,
    user_id: principal.userId ?? null,
    role: principal.role,
    scopes: [...principal.scopes],
    via: principal.via,
  };
}

/**
 * The session routes under `/api/auth`: `POST /login`, `POST /logout`, `GET /me`, `GET /session`,
 * `POST /signup`.
 * They answer anonymous callers (the authenticate middleware lets `/api/auth/*` through); state
 * changes are protected from other sites by the cross-site middleware and SameSite=Lax.
 */
export function authRoutes(deps: ServerDeps & { db: Database; auth: AuthContext }): Hono<AppEnv> {
  const { db, auth } = deps;
  const app = new Hono<AppEnv>();

  app.post("/login", (c) => login(c, db, auth));

  app.post("/logout", async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie !== undefined) {
      // This request came with the session it ends: do not cut our own answer.
      c.get("untrackRequest")?.();
      const principal = c.get("principal");
      const userId = await endSession(db, cookie, await auth.sessionSecret());
      if (userId !== undefined) {
        await recordAudit(
          db,
          { id: userId, name: principal?.username ?? userId, address: clientAddress(c) },
          "logout",
          principal?.username,
        );
      }
    }
    clearSessionCookie(c);
    return c.body(null, 204);
  });

  app.get("/me", (c) => {
    const me = meOf(c);
    if (!me) throw new AppError("unauthorized", "unauthorized: not logged in");
    return c.json(me);
  });

  // The web app's start: whether this browser is logged in, without a 401 (a failed request the
  // browser would log as an error on every visit to the login page).
  app.get("/session", (c) => c.json({ user: meOf(c) ?? null }));

  app.post("/signup", async (c) => {
    const address = clientAddress(c);
    if (!(await isSignupEnabled(db))) throw new AppError("forbidden", "sign-up is disabled");
    const body = parseWire(credentialsRequestSchema, await readJsonBody(c));
    // Each sign-up costs a password hash: the per-address login budget bounds that work too.
    auth.loginLimiter.checkAddress(address);
    auth.loginLimiter.recordAddress(address);
    const user = await createUser(
      db,
      { username: body.username, password: body.password, role: "user", status: "pending" },
      { name: body.username, address },
    );
    return c.json({ user: toUserWire(user) }, 201);
  });

  return app;
}
