/**
 * Requests crafted from outside, through real HTTP on a real platform: a slow-header client
 * (slowloris) is cut soon after `server.headers_timeout`.
 */
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/auth/users.js";
import type { Database } from "../../src/store/types.js";
import { openTestDatabase } from "../support/databases.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { rawRequest } from "../support/raw-http.js";

const HEADERS_TIMEOUT_S = 1;
let db: Database;
let platform: TestPlatform;

beforeAll(async () => {
  db = await openTestDatabase("pglite");
  await createUser(db, { username: "alice", password: "alice-password-1234", role: "admin" });
  platform = await startTestPlatform({
    database: db,
    flags: { "server.headers_timeout": HEADERS_TIMEOUT_S },
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
    const { ms, answer } = await slowHeaders(
      `POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1:${platform.port}\r\nX-Slow: a`,
    );
    expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S * 1000 - 50);
    // Node checked the timeout every 30 s by default: the socket stayed open 21-29 s past it.
    expect(ms).toBeLessThan(HEADERS_TIMEOUT_S * 1000 + 1200);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it("still serves a request whose headers arrive in time", async () => {
    const res = await rawRequest(`${platform.url}/api/version`);
    expect(res.status).toBe(200);
  });
});
