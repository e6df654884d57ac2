/**
 * The browser app's serving (src/server/routes/web/static.ts) through real HTTP: browsers get
 * index.html on the app's routes, API clients keep `Ollama is running`, built files are cached
 * forever, HTML carries the CSP, and no request path reaches outside the built folder.
 */
import { mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEB_APP_CSP } from "../../src/server/routes/web/static.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { rawRequest, type RawResponse } from "../support/raw-http.js";

const INDEX =
  '<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head></html>';
const SCRIPT = "console.log('app');";
const KEY = "sk-aixcl-test-0123456789abcdef";
const AUTH = { Authorization: `Bearer ${KEY}` };
const HTML = { Accept: "text/html,application/xhtml+xml,application/xhtml+xml;q=0.9,*/*;q=0.8" };

let root: string;
let platform: TestPlatform;

const get = (path: string, headers: Record<string, string> = {}): Promise<RawResponse> =>
  rawRequest(`${platform.url}${path}`, { headers });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "aixcl-web-"));
  await mkdir(join(root, "assets"));
  await writeFile(join(root, "index.html"), INDEX);
  await writeFile(join(root, "assets", "index-abc123.js"), SCRIPT);
  await writeFile(join(root, "assets", "index-def456.css"), "body{}");
  // Beside the root: what a traversal out of assets/ or the root would reach.
  await writeFile(join(root, "secret.txt"), "secret");
  // API auth required: the app must still load for a browser that has no session yet.
  platform = await startTestPlatform({
    webRoot: root,
    flags: { "auth.api": "required", "auth.api_key": KEY },
  });
});

afterAll(async () => {
  await platform?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

function expectHtmlHeaders(res: RawResponse): void {
  expect(res.headers["content-security-policy"]).toBe(WEB_APP_CSP);
  expect(res.headers["x-content-type-options"]).toBe("nosniff");
  expect(res.headers["referrer-policy"]).toBe("no-referrer");
}

describe("GET / and the app's routes", () => {
  it("answers the app to a browser and `Ollama is running` to API clients", async () => {
    const browser = await get("/", HTML);
    expect(browser.status).toBe(200);
    expect(browser.headers["content-type"]).toMatch(/^text\/html/);
    expect(browser.headers["cache-control"]).toBe("no-cache");
    expect(browser.headers.vary).toBe("Accept");
    expect(browser.body).toBe(INDEX);
    expectHtmlHeaders(browser);

    for (const headers of [{}, { Accept: "*/*" }, { Accept: "application/json" }] as Record<
      string,
      string
    >[]) {
      const api = await get("/", { ...AUTH, ...headers });
      expect(api.status).toBe(200);
      expect(api.body).toBe("Ollama is running");
    }
  });

  it("answers index.html on client routes that accept HTML, and leaves other paths to the API", async () => {
    for (const path of ["/login", "/c/0b6f3f4e-7c1a-4a53-9a55-1f0e7bd0c8a1", "/settings", "/admin/users"]) {
      const res = await get(path, HTML);
      expect(res.status, path).toBe(200);
      expect(res.body).toBe(INDEX);
      expectHtmlHeaders(res);
    }
    expect((await get("/login", AUTH)).status).toBe(404);
    expect((await get("/c/a/b", { ...AUTH, ...HTML })).status).toBe(404);
    expect((await get("/admin/a/b", { ...AUTH, ...HTML })).status).toBe(404);
    const tags = await get("/api/tags", { ...AUTH, ...HTML });
    expect(tags.status).toBe(200);
    expect(tags.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("serves the app without a session while the API still needs one", async () => {
    expect((await get("/api/tags", HTML)).status).toBe(401);
    expect((await get("/", { Accept: "*/*" })).status).toBe(401);
    // HEAD too: Hono dispatches it as GET and drops the body.
    const head = await rawRequest(`${platform.url}/`, { method: "HEAD", headers: HTML });
    expect(head.status).toBe(200);
    expect(head.body).toBe("");
    expectHtmlHeaders(head);
  });

  it("says to build the app when it is not built", async () => {
    await rename(join(root, "index.html"), join(root, "index.moved"));
    try {
      const res = await get("/", HTML);
      expect(res.status).toBe(503);
      expect(res.body).toContain("npm run build");
      expect(res.headers["content-type"]).toMatch(/^text\/plain/);
      expectHtmlHeaders(res);
      expect((await get("/", AUTH)).body).toBe("Ollama is running");
    } finally {
      await rename(join(root, "index.moved"), join(root, "index.html"));
    }
  });
});

describe("/assets", () => {
  it("serves built files with their content type and immutable caching", async () => {
    const js = await get("/assets/index-abc123.js");
    expect(js.status).toBe(200);
    expect(js.body).toBe(SCRIPT);
    expect(js.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(js.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(js.headers["x-content-type-options"]).toBe("nosniff");
    const css = await get("/assets/index-def456.css");
    expect(css.headers["content-type"]).toBe("text/css; charset=utf-8");
    expect((await get("/assets/missing-000.js", AUTH)).status).toBe(404);
  });

  it("refuses every path that would leave the assets folder", async () => {
    const attempts = [
      "/assets/../../package.json",
      "/assets/../secret.txt",
      "/assets/..%2fsecret.txt",
      "/assets/..%2F..%2Fpackage.json",
      "/assets/%2e%2e/secret.txt",
      "/assets/%2e%2e%2fsecret.txt",
      "/assets/%2e%2e%5csecret.txt",
      "/assets/..%5c..%5cpackage.json",
      "/assets/%252e%252e%252fsecret.txt",
      "/assets/.%2e/.%2e/package.json",
      "/assets/%00secret.txt",
      "/assets/%E0%A4%A",
      "/assets//etc/passwd",
      "/assets/%2fetc%2fpasswd",
    ];
    for (const path of attempts) {
      // Authenticated: a refused path falls through to the API, whose answer is then 404.
      const res = await get(path, { ...AUTH, ...HTML });
      expect(res.status, path).toBe(404);
      expect(res.body, path).not.toContain("secret");
      expect(res.body, path).not.toContain('"name": "aixcl"');
    }
  });
});

describe("profile core", () => {
  it("serves no app: GET / is always `Ollama is running`", async () => {
    const core = await startTestPlatform({ webRoot: root, flags: { profile: "core" } });
    try {
      const res = await rawRequest(`${core.url}/`, { headers: HTML });
      expect(res.status).toBe(200);
      expect(res.body).toBe("Ollama is running");
      expect(res.headers["content-security-policy"]).toBeUndefined();
      expect((await rawRequest(`${core.url}/assets/index-abc123.js`)).status).toBe(404);
      expect((await rawRequest(`${core.url}/login`, { headers: HTML })).status).toBe(404);
    } finally {
      await core.close();
    }
  });
});
