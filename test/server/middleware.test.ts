/**
 * The safety middleware on its own, over real HTTP (@hono/node-server on port 0), in front of two
 * small routes: one that echoes a JSON body read by readJsonBody, one that streams until the
 * client goes away and records whether the request's AbortSignal fired.
 */
import { request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/server/app-env.js";
import { authenticate } from "../../src/server/middleware/auth.js";
import { bodyLimit, jsonDepthExceeds, readJsonBody } from "../../src/server/middleware/body.js";
import { cors } from "../../src/server/middleware/cors.js";
import { crossSite } from "../../src/server/middleware/cross-site.js";
import { hostCheck, isAllowedHost } from "../../src/server/middleware/host-check.js";
import { createOriginPolicy } from "../../src/server/middleware/origins.js";
import { requestId } from "../../src/server/middleware/request-id.js";
import { isAppError } from "../../src/errors.js";
import type { Server } from "node:http";
import { rawRequest, type RawRequestOptions, type RawResponse } from "../support/raw-http.js";

const KEY = "test-key-0123456789abcdef";
let url = "";
let server: Server;
const aborted: string[] = [];

const raw = (path: string, options?: RawRequestOptions): Promise<RawResponse> =>
  rawRequest(`${url}${path}`, options);

beforeAll(async () => {
  const app = new Hono<AppEnv>();
  const policy = createOriginPolicy(["https://app.example.com"]);
  app.use(requestId());
  app.use(hostCheck({ allowedHosts: ["aixcl.internal"], bindHost: "127.0.0.1" }));
  app.use(cors(policy));
  app.use(crossSite(policy));
  app.use("/auth/*", authenticate({ api: "required", staticKey: KEY }));
  app.use(
    bodyLimit({ maxBytes: 64 * 1024, maxDepth: 8, idleMs: 30_000 }, (path) => path.startsWith("/upload")),
  );
  const echo = async (c: Context<AppEnv>) => c.json({ got: await readJsonBody(c) });
  app.post("/echo", echo);
  app.post("/auth/echo", echo);
  app.get("/stream", (c) => {
    const signal = c.req.raw.signal;
    signal.addEventListener("abort", () => aborted.push("signal"));
    let n = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((r) => setTimeout(r, 20));
        controller.enqueue(new TextEncoder().encode(`line ${n++}\n`));
      },
      cancel: () => void aborted.push("cancel"),
    });
    return c.body(stream, 200, { "Content-Type": "application/x-ndjson" });
  });
  app.onError((error, c) => {
    if (isAppError(error)) return c.json({ error: error.message, code: error.code }, error.status as 400);
    return c.json({ error: "internal" }, 500);
  });
  server = createAdaptorServer({ fetch: app.fetch }) as Server;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe("host allow-list", () => {
  it("accepts loopback names and literals, private literals and configured names", () => {
    const configured = new Set(["aixcl.internal"]);
    for (const host of [
      "localhost:11434",
      "LOCALHOST",
      "app.localhost:1",
      "127.0.0.1:80",
      "[::1]:11434",
      "10.1.2.3",
      "192.168.0.5:11434",
      "aixcl.internal:8080",
      "0.0.0.0",
    ]) {
      expect(isAllowedHost(host, configured), host).toBe(true);
    }
    for (const host of ["evil.com", "evil.com:11434", "localhost.evil.com", "8.8.8.8", "127.0.0.1.nip.io"]) {
      expect(isAllowedHost(host, configured), host).toBe(false);
    }
  });

  it("answers 403 forbidden_host to a rebinding Host, with a request id", async () => {
    const res = await raw("/echo", { method: "POST", headers: { Host: "evil.com:11434" }, body: "{}" });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ code: "forbidden_host" });
    expect(res.headers["x-request-id"]).toMatch(/[0-9a-f-]{36}/);
  });
});

describe("request id", () => {
  it("echoes a sane client id and replaces an unsafe one", async () => {
    const mine = await raw("/nope", { headers: { "x-request-id": "abc-123" } });
    expect(mine.status).toBe(404);
    expect(mine.headers["x-request-id"]).toBe("abc-123");
    const unsafe = await raw("/nope", { headers: { "x-request-id": "a b\tc" } });
    expect(unsafe.headers["x-request-id"]).not.toBe("a b\tc");
  });
});

describe("CORS and cross-site requests", () => {
  it("answers a preflight from a loopback origin with the openai SDK's headers allowed", async () => {
    const res = await raw("/echo", {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:3000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-stainless-os,authorization",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("http://localhost:3000");
    const allowed = String(res.headers["access-control-allow-headers"]).toLowerCase();
    for (const h of ["x-stainless-os", "authorization", "content-type", "x-api-key"])
      expect(allowed).toContain(h);
    expect(res.headers["access-control-allow-credentials"]).toBeUndefined();
  });

  it("refuses a preflight from another origin", async () => {
    const res = await raw("/echo", {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
    });
    expect(res.status).toBe(403);
    expect(res.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("rejects a cross-site POST (text/plain from a foreign page) and one marked cross-site", async () => {
    const foreign = await raw("/echo", {
      method: "POST",
      headers: { Origin: "https://evil.example", "Content-Type": "text/plain" },
      body: "{}",
    });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: "cross_site" });
    const marked = await raw("/echo", {
      method: "POST",
      headers: { "Sec-Fetch-Site": "cross-site" },
      body: "{}",
    });
    expect(marked.status).toBe(403);
  });

  it("lets configured and loopback origins POST and reflects them", async () => {
    const res = await raw("/echo", {
      method: "POST",
      headers: { Origin: "https://app.example.com" },
      body: '{"a":1}',
    });
    expect(res.status).toBe(200);
    expect(res.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    const local = await raw("/echo", {
      method: "POST",
      headers: { Origin: "http://127.0.0.1:5173" },
      body: "{}",
    });
    expect(local.status).toBe(200);
  });
});

describe("same-origin pages", () => {
  it("let the server's own page POST from a non-loopback name the Host check allows, and nothing else", async () => {
    // The web app opened at http://aixcl.internal: its Origin is the Host it reached.
    const own = await raw("/echo", {
      method: "POST",
      headers: { Host: "aixcl.internal", Origin: "http://aixcl.internal", "Sec-Fetch-Site": "same-origin" },
      body: "{}",
    });
    expect(own.status).toBe(200);
    const other = await raw("/echo", {
      method: "POST",
      headers: { Host: "aixcl.internal", Origin: "http://other.internal", "Sec-Fetch-Site": "cross-site" },
      body: "{}",
    });
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body)).toMatchObject({ code: "cross_site" });
    // DNS rebinding: a foreign name resolved to this server is same-origin for the browser, but
    // its Host is refused before the origin is looked at.
    const rebound = await raw("/echo", {
      method: "POST",
      headers: { Host: "evil.example", Origin: "http://evil.example" },
      body: "{}",
    });
    expect(rebound.status).toBe(403);
    expect((JSON.parse(rebound.body) as { code?: string }).code).not.toBe("cross_site");
  });
});

describe("API key", () => {
  it("requires a key, accepts Bearer and x-api-key, refuses keys in the URL", async () => {
    const post = (path: string, headers: Record<string, string> = {}) =>
      raw(path, { method: "POST", headers, body: "{}" });
    expect((await post("/auth/echo")).status).toBe(401);
    expect((await post("/auth/echo", { Authorization: "Bearer wrong-key-wrong-key-123" })).status).toBe(401);
    expect((await post("/auth/echo", { Authorization: `Bearer ${KEY}` })).status).toBe(200);
    expect((await post("/auth/echo", { "x-api-key": KEY })).status).toBe(200);
    const inUrl = await post(`/auth/echo?api_key=${KEY}`, { Authorization: `Bearer ${KEY}` });
    expect(inUrl.status).toBe(401);
    expect((await post(`/auth/echo?token=${KEY}`)).status).toBe(401);
  });
});

describe("JSON bodies", () => {
  it("parses JSON whatever the Content-Type (curl -d sends form-urlencoded)", async () => {
    const res = await raw("/echo", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: '{"model":"x","n":[1,2]}',
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ got: { model: "x", n: [1, 2] } });
  });

  it("refuses an oversize body by Content-Length and while streaming a chunked one", async () => {
    const big = `{"a":"${"x".repeat(100 * 1024)}"}`;
    const declared = await raw("/echo", { method: "POST", body: big });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ code: "body_too_large" });
    const chunked = await raw("/echo", { method: "POST", body: big, chunked: true });
    expect(chunked.status).toBe(413);
  });

  it("refuses nesting deeper than the limit before parsing", async () => {
    const deep = "[".repeat(9) + "]".repeat(9);
    const res = await raw("/echo", { method: "POST", body: deep });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ code: "json_too_deep" });
    expect((await raw("/echo", { method: "POST", body: "[".repeat(8) + "]".repeat(8) })).status).toBe(200);
    expect(jsonDepthExceeds('{"s":"[[[[[[[[[[[[[["}', 2)).toBe(false);
    expect(jsonDepthExceeds('{"s":"\\"[[[["}', 1)).toBe(false);
  });

  it("rejects invalid JSON and an empty body as invalid_request", async () => {
    expect(JSON.parse((await raw("/echo", { method: "POST", body: "{nope" })).body)).toMatchObject({
      code: "invalid_request",
    });
    expect((await raw("/echo", { method: "POST", body: "" })).status).toBe(400);
  });
});

describe("client disconnect", () => {
  it("fires the request's AbortSignal and cancels the body stream", async () => {
    aborted.length = 0;
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${url}/stream`, (res) => {
        res.once("data", () => {
          req.destroy();
          resolve();
        });
      });
      req.on("error", (e) => (req.destroyed ? undefined : reject(e)));
      req.end();
    });
    await expect.poll(() => aborted.slice().sort(), { timeout: 2000 }).toEqual(["cancel", "signal"]);
  });
});
