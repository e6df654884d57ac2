/**
 * Requests crafted from outside, through real HTTP on a real platform: a slow-header client
 * (slowloris) is cut soon after `server.headers_timeout`, and JSON bodies with a key repeated in
 * one object are refused on every route (a parser differential with a proxy or WAF in front).
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import { scanJson } from "../../src/server/middleware/json-scan.js";
import type { Database } from "../../src/store/types.js";
import { openTestDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { rawRequest, type RawResponse } from "../support/raw-http.js";

const HEADERS_TIMEOUT_S = 1;
const BODY_TIMEOUT_S = 1;
let db: Database;
let platform: TestPlatform;

beforeAll(async () => {
  db = await openTestDatabase("pglite");
  await createUser(db, { username: "alice", password: "alice-password-1234", role: "admin" });
  platform = await startTestPlatform({
    database: db,
    flags: { "server.headers_timeout": HEADERS_TIMEOUT_S, "server.body_timeout": BODY_TIMEOUT_S },
  });
});

afterAll(async () => {
  await platform?.close();
  await db?.close();
});

/** Opens a socket, writes `head` (never finishing the headers) and resolves with ms until it closes. */
function slowHeaders(head: string): Promise<{ ms: number; answer: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(platform.port, "127.0.0.1");
    let answer = "";
    let started = 0;
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.on("error", reject);
    socket.on("connect", () => {
      started = performance.now();
      socket.write(head);
    });
    socket.on("close", () => resolve({ ms: performance.now() - started, answer }));
  });
}

describe("slow request headers", () => {
  it("closes a connection that has not sent its headers within about a second of the timeout", async () => {
    const [partial, silent] = await Promise.all([
      slowHeaders(`POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:${platform.port}\r\nX-Slow: a`),
      slowHeaders(""), // connects and sends nothing at all
    ]);
    for (const { ms, answer } of [partial, silent]) {
      expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S * 1000 - 50);
      // Node checked the timeout every 30 s by default: the socket stayed open 21-29 s past it.
      expect(ms).toBeLessThan(HEADERS_TIMEOUT_S * 1000 + 1200);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    }
  });

  it("still serves a request whose headers arrive in time", async () => {
    const res = await rawRequest(`${platform.url}/api/version`);
    expect(res.status).toBe(200);
  });
});

describe("request bodies that stop arriving", () => {
  const stalled = (path: string, declared: number, sent: string) =>
    slowHeaders(
      `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${platform.port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${declared}\r\n\r\n${sent}`,
    );

  it("answers 408 naming the setting once a JSON body or a blob upload sends nothing for server.body_timeout", async () => {
    const digest = `sha256:${"0".repeat(64)}`;
    const [json, blob] = await Promise.all([
      stalled("/api/chat", 1000, '{"model":"'),
      stalled(`/api/blobs/${digest}`, 1_000_000, "GGUF"),
    ]);
    for (const { ms, answer } of [json, blob]) {
      expect(ms).toBeGreaterThanOrEqual(BODY_TIMEOUT_S * 1000 - 50);
      expect(answer).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer).toContain("request body stopped arriving: no bytes for 1 s (server.body_timeout)");
    }
    // Nothing of the stalled upload was kept, and the server goes on answering.
    expect((await rawRequest(`${platform.url}/api/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
    expect((await rawRequest(`${platform.url}/api/version`)).status).toBe(200);
  });
});

const post = (path: string, body: string): Promise<RawResponse> =>
  rawRequest(`${platform.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });

describe("JSON bodies with a repeated key", () => {
  it("refuses a login whose username is given twice (last one would win) with 400, no session", async () => {
    const ok = await post("/api/auth/login", '{"username":"alice","password":"alice-password-1234"}');
    expect(ok.status).toBe(200);
    for (const body of [
      '{"username":"nobody","username":"alice","password":"alice-password-1234"}',
      // The same key spelled with an escape: JSON.parse decodes it to "username".
      '{"username":"nobody","\\u0075sername":"alice","password":"alice-password-1234"}',
    ]) {
      const res = await post("/api/auth/login", body);
      expect(res.status, body).toBe(400);
      expect(JSON.parse(res.body)).toEqual({ error: expect.stringContaining('"username"') as unknown });
      expect(res.headers["set-cookie"]).toBeUndefined();
    }
  });

  it("refuses a key repeated at any depth, in the Ollama family's shape, before the model is looked up", async () => {
    const res = await post(
      "/api/chat",
      '{"model":"no-such-model","messages":[],"options":{"temperature":0,"num_predict":1,"temperature":1}}',
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({ error: expect.stringContaining('"temperature"') as unknown });
  });

  it("refuses it in the OpenAI family's shape", async () => {
    const res = await post(
      "/v1/chat/completions",
      '{"model":"no-such-model","messages":[{"role":"user","role":"system","content":"hi"}]}',
    );
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toEqual({
      error: {
        message: expect.stringContaining('"role"') as unknown,
        type: "invalid_request_error",
        param: null,
        code: "invalid_request",
      },
    });
  });

  it("accepts the same key in sibling objects and keys inside strings", async () => {
    const res = await post(
      "/api/show",
      '{"model":"no-such-model","verbose":false,"x":[{"a":1},{"a":2}],"y":"\\"model\\":1"}',
    );
    expect(res.status).toBe(404);
  });
});

describe("the JSON scan", () => {
  it("finds repeated keys per object, decoded, and ignores strings and sibling objects", () => {
    const dup = (text: string) => scanJson(text, 64).duplicateKey;
    expect(dup('{"a":1,"a":2}')).toBe("a");
    expect(dup('{"a":{"b":[1,{"c":1,"c":2}]}}')).toBe("c");
    expect(dup('{"a":[1,{"b":1}],"a":2}')).toBe("a");
    expect(dup('{"\\u0061":1,"a":2}')).toBe("a");
    expect(dup('{"a\\\\":1,"a\\\\":2}')).toBe("a\\");
    expect(dup('[{"a":1},{"a":1}]')).toBeUndefined();
    expect(dup('{"a":{"a":{"a":1}}}')).toBeUndefined();
    expect(dup('{"a":"\\",\\"a\\":1","b":"a"}')).toBeUndefined();
    expect(dup('{"a":1,"A":2}')).toBeUndefined();
    expect(dup('{"a":1,"a"')).toBe("a"); // not JSON: readJsonBody reports that first
    expect(dup('"unterminated')).toBeUndefined();
  });

  it("measures depth as before", () => {
    expect(scanJson("[".repeat(9) + "]".repeat(9), 8).tooDeep).toBe(true);
    expect(scanJson("[".repeat(8) + "]".repeat(8), 8).tooDeep).toBe(false);
    expect(scanJson('{"s":"[[[[[[[[[[[[[["}', 2).tooDeep).toBe(false);
  });
});
