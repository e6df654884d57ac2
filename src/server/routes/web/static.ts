import { readFile } from "node:fs/promises";
import { extname, join, resolve, sep } from "node:path";
import type { Context, MiddlewareHandler } from "hono";
import { builtPath } from "../../../package-paths.js";
import type { AppEnv } from "../../app-env.js";

/** The CSP of every HTML answer (docs/web-app.md): no inline script or style, nothing off-site. */
export const WEB_APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const HTML_HEADERS = {
  "Content-Security-Policy": WEB_APP_CSP,
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".woff2": "font/woff2",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/** What Vite names a built file: `<name>-<hash>.<ext>`, flat under assets/. Anything else is not ours. */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** The client-side routes of the app (web/src/routes.ts): a reload on one of them gets the app. */
function isAppRoute(path: string): boolean {
  return (
    path === "/" ||
    path === "/login" ||
    path === "/settings" ||
    /^\/c\/[A-Za-z0-9-]{1,64}$/.test(path) ||
    /^\/admin\/[a-z]{1,32}$/.test(path)
  );
}

/** Where `npm run build` puts the app: `<package>/dist/web`. */
function defaultWebRoot(): string {
  return builtPath("web");
}

async function readOrUndefined(path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path);
  } catch {
    return undefined;
  }
}

async function serveIndex(c: Context<AppEnv>, root: string): Promise<Response> {
  const html = await readOrUndefined(join(root, "index.html"));
  if (html === undefined) {
    // A checkout that was never built: say how to fix it rather than a bare 404.
    return c.body("The aixcl web app is not built: run `npm run build`, then restart `aixcl serve`.\n", 503, {
      ...HTML_HEADERS,
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-store",
    });
  }
  return c.body(new Uint8Array(html), 200, {
    ...HTML_HEADERS,
    "Content-Type": "text/html; charset=utf-8",
    // Asset names change with every build; index.html must be revalidated to point at the new ones.
    "Cache-Control": "no-cache",
    // The same URL answers API clients differently (`GET /`): caches must key on Accept.
    Vary: "Accept",
  });
}

/** The file an `/assets/<name>` request names inside `assetsDir`, or undefined if it names nothing safe. */
function assetPath(assetsDir: string, rawName: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(rawName);
  } catch {
    return undefined;
  }
  if (!ASSET_NAME.test(name) || name.includes("..")) return undefined;
  // Belt and braces: whatever the name check lets through must still resolve inside the folder.
  const path = resolve(assetsDir, name);
  return path.startsWith(assetsDir + sep) ? path : undefined;
}

async function serveAsset(
  c: Context<AppEnv>,
  assetsDir: string,
  rawName: string,
): Promise<Response | undefined> {
  const path = assetPath(assetsDir, rawName);
  if (path === undefined) return undefined;
  const body = await readOrUndefined(path);
  if (body === undefined) return undefined;
  return c.body(new Uint8Array(body), 200, {
    "Content-Type": CONTENT_TYPES[extname(path).toLowerCase()] ?? "application/octet-stream",
    "X-Content-Type-Options": "nosniff",
    // The hash in the name changes with the content: a name is forever.
    "Cache-Control": "public, max-age=31536000, immutable",
  });
}

export interface WebAppOptions {
  /** The built app (index.html, assets/). Default: defaultWebRoot(), the package's dist/web. */
  root?: string;
}

/**
 * Serves the browser app on the API's port: `index.html` to GETs that accept HTML on the app's
 * routes (`/`, `/login`, `/c/<id>`, `/settings`, `/admin/<page>`), built files under `/assets/`. Everything else — and `GET /`
 * from API clients, which keep getting `Ollama is running` — passes on to the API routes.
 * Mounted before authentication: the app's files are the same public files for everyone, and
 * the login page must load for a browser that has no session yet.
 */
export function webApp(options: WebAppOptions = {}): MiddlewareHandler<AppEnv> {
  const root = resolve(options.root ?? defaultWebRoot());
  const assetsDir = join(root, "assets");
  return async (c, next) => {
    // HEAD is dispatched as GET by Hono, which drops the body.
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      // The raw path, not Hono's decoded one: an encoded `%2F` must stay inside one name.
      const rawPath = new URL(c.req.url).pathname;
      if (rawPath.startsWith("/assets/")) {
        const response = await serveAsset(c, assetsDir, rawPath.slice("/assets/".length));
        if (response) return response;
      } else if (isAppRoute(rawPath) && (c.req.header("accept") ?? "").includes("text/html")) {
        return serveIndex(c, root);
      }
    }
    await next();
  };
}
