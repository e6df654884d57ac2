/**
 * The security baseline on the real platform (auth required, small body limit): each control is
 * checked through real HTTP, the way an attacker or a browser would reach it.
 */
import { createHash, randomBytes } from "node:crypto";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { rawRequest, type RawRequestOptions, type RawResponse } from "../support/raw-http.js";

const KEY = "sk-aixcl-test-0123456789abcdef";
const BODY_LIMIT = 64 * 1024;
let platform: TestPlatform;

const raw = (path: string, options?: RawRequestOptions): Promise<RawResponse> =>
  rawRequest(`${platform.url}${path}`, options);

const auth = { Authorization: `Bearer ${KEY}` };

beforeAll(async () => {
  platform = await startTestPlatform({
    flags: {
      "auth.api": "required",
      "auth.api_key": KEY,
      "server.body_limit": BODY_LIMIT,
      "server.json_depth": 16,
      "server.cors_origins": ["https://app.example.com"],
    },
  });
});

afterAll(async () => {
  await platform?.close();
});

describe("DNS rebinding and cross-site requests", () => {
  it("refuses a foreign Host with 403 and a request id", async () => {
    const res = await raw("/api/tags", { headers: { ...auth, Host: "evil.com" } });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toEqual({ error: expect.stringContaining("host") as unknown });
    expect(res.headers["x-request-id"]).toBeTruthy();
    const ok = await raw("/api/tags", { headers: { ...auth, Host: `localhost:${platform.port}` } });
    expect(ok.status).toBe(200);
  });

  it("refuses a cross-site POST even with a valid key", async () => {
    const foreign = await raw("/api/show", {
      method: "POST",
      headers: { ...auth, Origin: "https://evil.example", "Content-Type": "text/plain" },
      body: '{"model":"x"}',
    });
    expect(foreign.status).toBe(403);
    const marked = await raw("/api/delete", {
      method: "DELETE",
      headers: { ...auth, "Sec-Fetch-Site": "cross-site" },
      body: '{"model":"x"}',
    });
    expect(marked.status, marked.body).toBe(403);
  });

  it("answers a CORS preflight from http://localhost:3000 allowing the openai SDK headers, without a key", async () => {
    const res = await raw("/v1/chat/completions", {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:3000",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-stainless-os,x-stainless-lang",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers["access-control-allow-origin"]).toBe("http://localhost:3000");
    expect(String(res.headers["access-control-allow-headers"])).toContain("x-stainless-os");
    const configured = await raw("/api/tags", { headers: { ...auth, Origin: "https://app.example.com" } });
    expect(configured.headers["access-control-allow-origin"]).toBe("https://app.example.com");
    const other = await raw("/api/tags", { headers: { ...auth, Origin: "https://evil.example" } });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });
});

describe("API key", () => {
  it("answers 401 without a key or with a wrong one, in each family's shape", async () => {
    const none = await raw("/api/tags");
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body)).toEqual({ error: expect.any(String) as unknown });
    expect(none.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(none.headers["x-request-id"]).toBeTruthy();
    expect(
      (await raw("/api/tags", { headers: { Authorization: "Bearer sk-wrong-wrong-wrong-wrong" } })).status,
    ).toBe(401);
    expect((await raw("/api/tags", { headers: { "x-api-key": `${KEY}x` } })).status).toBe(401);
    const v1 = await raw("/v1/models");
    expect(v1.status).toBe(401);
    expect(JSON.parse(v1.body)).toMatchObject({ error: { type: "authentication_error" } });
  });

  it("accepts Bearer and x-api-key, and the ollama client with headers", async () => {
    expect((await raw("/api/tags", { headers: auth })).status).toBe(200);
    expect((await raw("/api/tags", { headers: { "x-api-key": KEY } })).status).toBe(200);
    const client = new Ollama({ host: platform.url, headers: auth });
    expect(await client.list()).toEqual({ models: [] });
    await expect(new Ollama({ host: platform.url }).list()).rejects.toMatchObject({ status_code: 401 });
  });

  it("refuses a key in the URL even when it is right", async () => {
    for (const name of ["api_key", "key", "token"]) {
      expect((await raw(`/api/tags?${name}=${KEY}`)).status).toBe(401);
      expect((await raw(`/api/tags?${name}=${KEY}`, { headers: auth })).status).toBe(401);
    }
  });
});

describe("request limits", () => {
  it("refuses an oversize JSON body with 413, declared or streamed", async () => {
    const big = JSON.stringify({ model: "x", prompt: "p".repeat(BODY_LIMIT) });
    const declared = await raw("/api/generate", { method: "POST", headers: auth, body: big });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toEqual({ error: expect.stringContaining("too large") as unknown });
    const chunked = await raw("/api/generate", { method: "POST", headers: auth, body: big, chunked: true });
    expect(chunked.status).toBe(413);
    const openai = await raw("/v1/chat/completions", { method: "POST", headers: auth, body: big });
    expect(openai.status).toBe(413);
  });

  it("refuses JSON nested deeper than the limit with 400", async () => {
    const deep = `{"model":"x","options":${"[".repeat(40)}${"]".repeat(40)}}`;
    const res = await raw("/api/generate", { method: "POST", headers: auth, body: deep });
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: expect.stringContaining("nested") as unknown });
  });

  it("exempts blob uploads from the JSON body limit", async () => {
    const blob = randomBytes(BODY_LIMIT * 3);
    const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
    const res = await raw(`/api/blobs/${digest}`, {
      method: "POST",
      headers: auth,
      body: blob,
      chunked: true,
    });
    expect(res.status).toBe(201);
    expect((await raw(`/api/blobs/${digest}`, { method: "HEAD", headers: auth })).status).toBe(200);
  });
});

describe("error hygiene and request metrics", () => {
  it("keeps local paths and stacks out of error bodies", async () => {
    const junk = Buffer.from("not a gguf file at all");
    const digest = `sha256:${createHash("sha256").update(junk).digest("hex")}`;
    expect((await raw(`/api/blobs/${digest}`, { method: "POST", headers: auth, body: junk })).status).toBe(
      201,
    );
    const res = await raw("/api/create", {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ model: "junk", files: { "model.gguf": digest }, stream: false }),
    });
    expect(res.status).toBe(400);
    expect(res.body).not.toContain(platform.home);
    expect(res.body).not.toMatch(/\n\s+at /);
    expect(Object.keys(JSON.parse(res.body) as object)).toEqual(["error"]);
  });

  it("labels request metrics with route patterns, never raw URLs", async () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    await raw(`/api/blobs/${digest}`, { method: "HEAD", headers: auth });
    const res = await raw("/metrics", { headers: auth });
    expect(res.status).toBe(200);
    expect(res.body).toMatch(/aixcl_http_requests_total\{[^}]*route="\/api\/blobs\/:digest"[^}]*\} \d+/);
    expect(res.body).toMatch(/aixcl_http_requests_total\{[^}]*route="\/api\/tags"[^}]*status="401"[^}]*\}/);
    expect(res.body).not.toContain("ab".repeat(32));
    expect(res.body).not.toContain("api_key=");
  });
});
