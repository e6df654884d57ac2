import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import { setMaxListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono, type MiddlewareHandler } from "hono";
import { AppError } from "../errors.js";
import type { AppEnv } from "./app-env.js";
import type { ServerDeps } from "./context.js";
import { createErrorRenderer, isOpenAIPath } from "./error-response.js";
import { verifyApiKey } from "../auth/api-keys.js";
import { resolveSession } from "../auth/sessions.js";
import { authenticate } from "./middleware/auth.js";
import { bodyLimit } from "./middleware/body.js";
import { cors } from "./middleware/cors.js";
import { crossSite } from "./middleware/cross-site.js";
import { hostCheck } from "./middleware/host-check.js";
import { observeRequests } from "./middleware/observe.js";
import { createOriginPolicy } from "./middleware/origins.js";
import { requestId } from "./middleware/request-id.js";
import { requireScopes } from "./middleware/scopes.js";
import { BLOB_UPLOAD_PREFIX, ollamaRoutes } from "./routes/ollama/index.js";
import { openaiRoutes } from "./routes/openai/index.js";
import { adminRoutes } from "./routes/admin/index.js";
import type { ServerVitals } from "./routes/admin/health.js";
import { ownKeyRoutes } from "./routes/admin/keys.js";
import { authRoutes } from "./routes/auth/index.js";
import { localIdentityRoutes } from "./routes/auth/local-identity.js";
import type { UnsealThrottleOptions } from "../auth/unseal-throttle.js";
import { vaultRoutes } from "./routes/vault.js";
import { webApp } from "./routes/web/static.js";
import { webApiRoutes } from "./routes/web/chat-api.js";
import { WEB_API_PREFIX } from "./routes/web/errors.js";
import { createChatModels, type ChatModels } from "../chat/models.js";
import { createChatService, type ChatService } from "../chat/service.js";

export interface CreateServerOptions {
  /** How long close() waits for in-flight requests (streams) to finish before cutting them, ms. Default 10000. */
  drainTimeoutMs?: number;
  /** The built browser app (index.html, assets/). Default: the package's dist/web. */
  webRoot?: string;
  /** The vault unseal throttle's waits and limits (src/auth/unseal-throttle.ts). Default: its own. */
  unsealThrottle?: UnsealThrottleOptions;
}

interface ListenAddress {
  host: string;
  port: number;
  url: string;
}

export interface AixclServer {
  app: Hono<AppEnv>;
  listen(): Promise<ListenAddress>;
  /**
   * Stops accepting, lets in-flight requests finish for `drainMs` (default: the server's drain
   * period), ends those still running with a `shutting_down` error record, then closes. Idempotent.
   */
  close(drainMs?: number): Promise<void>;
}

/** How long requests ended with an error record at shutdown get to write it, ms. */
const CUT_FLUSH_MS = 1000;

/** How often Node looks for connections past `server.headers_timeout`, ms. */
const HEADERS_CHECK_INTERVAL_MS = 500;

function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * The authenticate middleware for this server's credentials: the local CLI token, the static
 * key, API keys and sessions (the last two only with a database).
 */
function authenticateFor(deps: ServerDeps): MiddlewareHandler<AppEnv> {
  const { config, db, auth } = deps;
  if (config.auth.api === "required" && config.auth.api_key === undefined && db === undefined) {
    // Without a database no key can be created: nothing could ever authenticate.
    throw new AppError("config_invalid", "auth.api is required but auth.api_key is not set", {
      param: "auth.api_key",
    });
  }
  const sessionTtlMs = auth?.sessionTtlMs;
  return authenticate({
    api: config.auth.api,
    staticKey: config.auth.api_key,
    localToken: auth?.localToken,
    verifyApiKey: db ? (presented) => verifyApiKey(db, presented) : undefined,
    resolveSession:
      db && auth
        ? async (id) => resolveSession(db, id, auth.sessionTtlMs, await auth.sessionSecret())
        : undefined,
    sessionTtlMs,
    hub: auth?.hub,
  });
}

/** The Hono app: safety middleware in order, then the API families, then error rendering. */
function buildApp(
  deps: ServerDeps,
  vitals: ServerVitals,
  chat: { service: ChatService; models: ChatModels } | undefined,
  options: Pick<CreateServerOptions, "webRoot" | "unsealThrottle">,
  /** Aborted at shutdown for what outlived the drain (AppEnv's `cut`). */
  cut: AbortSignal,
): Hono<AppEnv> {
  const { webRoot } = options;
  const { server } = deps.config;
  const app = new Hono<AppEnv>();
  const allowedOrigin = createOriginPolicy(server.cors_origins);

  app.use(requestId());
  app.use(observeRequests(deps.metrics));
  app.use(async (c, next) => {
    if (vitals.closing.aborted) {
      c.header("Connection", "close");
      throw new AppError("shutting_down", "server is shutting down", { retryAfter: 1 });
    }
    c.set("cut", cut);
    await next();
  });
  app.use(hostCheck({ allowedHosts: server.allowed_hosts, bindHost: server.host }));
  // CORS before auth: preflights carry no credentials and must be answered as they are.
  app.use(cors(allowedOrigin));
  app.use(crossSite(allowedOrigin));
  // The browser app (profile sys only: core has no users, bld no web UI) is public files, served
  // before authentication so the login page loads without a session; see routes/web/static.ts.
  if (deps.config.profile === "sys") app.use(webApp(webRoot === undefined ? {} : { root: webRoot }));
  app.use(authenticateFor(deps));
  app.use(requireScopes());
  app.use(
    bodyLimit(
      { maxBytes: server.body_limit, maxDepth: server.json_depth, idleMs: server.body_timeout * 1000 },
      (path) => path.startsWith(BLOB_UPLOAD_PREFIX),
    ),
  );

  // For load balancers: no credentials (auth.ts and scopes.ts let it through) and no details.
  app.get("/api/health", (c) => c.json({ status: "ok" }));
  app.get("/metrics", async (c) => {
    const { contentType, body } = await deps.metrics.render();
    return c.body(body, 200, { "Content-Type": contentType });
  });
  const { db, auth: identity } = deps;
  if (identity?.localToken) app.route("/api/auth/local", localIdentityRoutes(identity.localToken));
  if (db) app.route("/api/auth/keys", ownKeyRoutes(deps));
  if (db && identity) app.route("/api/auth", authRoutes({ ...deps, db, auth: identity }));
  app.route("/api/admin", adminRoutes(deps, vitals));
  if (deps.vault)
    app.route("/api/vault", vaultRoutes({ ...deps, vault: deps.vault }, options.unsealThrottle));
  if (db && chat) app.route(WEB_API_PREFIX, webApiRoutes({ ...deps, db }, chat.service, chat.models));
  app.route("/", ollamaRoutes(deps));
  app.route("/v1", openaiRoutes(deps));

  const renderError = createErrorRenderer(deps);
  app.notFound((c) =>
    renderError(new AppError("not_found", isOpenAIPath(c.req.path) ? "Not found" : "404 page not found"), c),
  );
  app.onError((error, c) => renderError(error, c));
  return app;
}

/** Creates the HTTP server for the platform (nothing listens until listen()). */
export function createServer(deps: ServerDeps, options: CreateServerOptions = {}): AixclServer {
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const closing = new AbortController();
  const cut = new AbortController();
  // Every request in flight listens to it (linkAbort) and drops its listener when done: many
  // at once is the normal case, not a leak.
  setMaxListeners(0, cut.signal);
  const inFlight = new Set<ServerResponse>();
  // The web chat's answers belong to the server (docs/web-app.md); profile core has no chats.
  const chatModels = createChatModels(deps.store);
  const chat = deps.db
    ? createChatService({
        db: deps.db,
        inference: deps.inference,
        models: deps.store,
        thinking: chatModels,
        engine: deps.engine,
        logger: deps.logger,
      })
    : undefined;
  const vitals: ServerVitals = {
    requestsActive: () => inFlight.size,
    startedAt: Date.now(),
    closing: closing.signal,
  };
  const app = buildApp(deps, vitals, chat && { service: chat, models: chatModels }, options, cut.signal);
  let drained: (() => void) | undefined;

  const http = createAdaptorServer({
    fetch: app.fetch,
    serverOptions: {
      headersTimeout: deps.config.server.headers_timeout * 1000,
      // Node only checks headersTimeout on this interval (default 30 s), so a slow-header client
      // (slowloris) held its socket up to 30 s past the timeout; checking twice a second closes it
      // within half a second of it. The check walks the open connections: cheap at this rate.
      connectionsCheckingInterval: HEADERS_CHECK_INTERVAL_MS,
      // 0 disables Node's whole-request timer (default 5 min): a multi-GB blob upload may
      // legitimately take longer. Slow headers are still cut by headersTimeout, and JSON
      // bodies are bounded by the body limit.
      requestTimeout: 0,
    },
  }) as HttpServer;
  http.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    inFlight.add(res);
    res.once("close", () => {
      inFlight.delete(res);
      if (closing.signal.aborted) {
        // Keep-alive sockets that just went idle would otherwise hold close() open.
        http.closeIdleConnections();
        if (inFlight.size === 0) drained?.();
      }
    });
  });

  let listening = false;
  let closed: Promise<void> | undefined;

  return {
    app,
    listen() {
      const { host, port } = deps.config.server;
      return new Promise<ListenAddress>((resolve, reject) => {
        const onError = (error: NodeJS.ErrnoException) => {
          reject(
            new AppError(
              "config_invalid",
              `cannot listen on ${urlHost(host)}:${port}: ${error.code ?? error.message}`,
              {
                param: error.code === "EADDRINUSE" ? "server.port" : "server.host",
                cause: error,
              },
            ),
          );
        };
        http.once("error", onError);
        http.listen(port, host, () => {
          http.off("error", onError);
          listening = true;
          const actual = (http.address() as AddressInfo).port;
          resolve({ host, port: actual, url: `http://${urlHost(host)}:${actual}` });
        });
      });
    },
    close(drainMs = drainTimeoutMs) {
      closed ??= (async () => {
        closing.abort();
        // Running answers are stopped and saved first; their streams end with that `done`.
        await chat?.close();
        if (!listening) return;
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        const settle = async (ms: number) => {
          if (inFlight.size === 0) return;
          let timer: NodeJS.Timeout | undefined;
          await new Promise<void>((resolve) => {
            drained = resolve;
            timer = setTimeout(resolve, ms);
          });
          clearTimeout(timer);
        };
        await settle(drainMs);
        if (inFlight.size > 0) {
          // Generations still running end with this as their stream's error record: the client
          // learns why its answer stopped short, which a closed socket would not tell it.
          cut.abort(
            new AppError(
              "shutting_down",
              `the server is shutting down: this request was still running after the ${drainMs < 1000 ? `${drainMs} ms` : `${Math.round(drainMs / 1000)} s`} grace period`,
            ),
          );
          await settle(CUT_FLUSH_MS);
        }
        // Whatever is still running is cut: its client sees the socket close.
        http.closeAllConnections();
        await stopped;
      })();
      return closed;
    },
  };
}
