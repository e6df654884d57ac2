/**
 * The blob transport against raw TCP servers that answer exactly the bytes each case needs:
 * Content-Length bodies (with body bytes in the head's packet), chunked and close-framed bodies,
 * short bodies, an oversized head, a throwing sink, cancellation, and an https server whose
 * certificate does not verify.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { AppError } from "../../src/errors.js";
import { createHostPolicy } from "../../src/models/pull/policy.js";
import { createTransport, type BodySink, type RawResponse } from "../../src/models/pull/transport.js";
import { rejectedAppError } from "../support/app-error.js";
import { startUntrustedTlsServer } from "../support/self-signed.js";

const servers: Server[] = [];
const policy = createHostPolicy({ insecure: [], allowPrivate: ["127.0.0.1"] });
const transport = createTransport({ lookupFor: (url) => policy.lookupFor(url) });

afterAll(async () => {
  transport.close();
  for (const server of servers) server.close();
});

/** A server that answers every connection with `answer(socket)` once the request head is in. */
async function serve(answer: (socket: Socket) => void): Promise<URL> {
  const server = createServer((socket) => {
    let head = "";
    socket.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) answer(socket);
    });
    socket.on("error", () => undefined);
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  return new URL(`http://127.0.0.1:${port}/blob`);
}

function get(url: URL, signal = new AbortController().signal): Promise<RawResponse> {
  return transport.get(url, {}, signal);
}

/** A sink that hands out small, uneven windows of one buffer, so reads cross window edges. */
function collector(): BodySink & { bytes(): Buffer } {
  const memory = Buffer.alloc(8 * 1024 * 1024);
  let filled = 0;
  let turn = 0;
  return {
    space: () => memory.subarray(filled, filled + 1000 + (turn++ % 7) * 3001),
    commit: (length) => void (filled += length),
    bytes: () => memory.subarray(0, filled),
  };
}

describe("raw blob transport", () => {
  it("reads a Content-Length body straight into the sink, including bytes sent with the head", async () => {
    const body = randomBytes(3 * 1024 * 1024 + 5);
    const url = await serve((socket) => {
      // Head and the first body bytes in one write: they arrive before read() is called.
      socket.write(
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 206 Partial Content\r\nContent-Length: ${body.length}\r\nX-Two: a\r\nx-two: b\r\n\r\n`,
          ),
          body.subarray(0, 1000),
        ]),
      );
      socket.end(body.subarray(1000));
    });
    const response = await get(url);
    expect(response.statusCode).toBe(206);
    expect(response.headers["x-two"]).toBe("a, b");
    const sink = collector();
    await response.read(sink);
    expect(sink.bytes().equals(body)).toBe(true);
  });

  it("decodes a chunked body and reads a body framed by the connection's end", async () => {
    const body = randomBytes(200_000);
    const chunked = await serve((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (let at = 0; at < body.length; at += 65_000) {
        const piece = body.subarray(at, at + 65_000);
        socket.write(`${piece.length.toString(16)};ext=1\r\n`);
        socket.write(piece);
        socket.write("\r\n");
      }
      socket.end("0\r\nX-Trailer: t\r\n\r\n");
    });
    const sink = collector();
    await (await get(chunked)).read(sink);
    expect(sink.bytes().equals(body)).toBe(true);

    const closing = await serve((socket) => {
      socket.write("HTTP/1.1 200 OK\r\n\r\n");
      socket.end(body);
    });
    const untilEnd = collector();
    await (await get(closing)).read(untilEnd);
    expect(untilEnd.bytes().equals(body)).toBe(true);
  });

  it("rejects a body that ends short of its Content-Length", async () => {
    const url = await serve((socket) =>
      socket.end("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"),
    );
    const response = await get(url);
    const error = await rejectedAppError(response.read(collector()));
    expect(error.code).toBe("registry_error");
    expect(error.message).toContain("closed the connection early");
  });

  it("rejects a malformed or oversized head and a connection closed before any answer", async () => {
    const garbage = await serve((socket) => socket.end("SSH-2.0-OpenSSH\r\n\r\n"));
    expect((await rejectedAppError(get(garbage))).message).toContain("malformed HTTP status line");
    const huge = await serve((socket) => {
      socket.write("HTTP/1.1 200 OK\r\n");
      socket.write(`X-Big: ${"a".repeat(70 * 1024)}\r\n`);
    });
    expect((await rejectedAppError(get(huge))).message).toContain("response head too large");
    const silent = await serve((socket) => socket.end());
    expect((await rejectedAppError(get(silent))).code).toBe("registry_error");
  });

  it("stops when the sink throws, and when the request is cancelled", async () => {
    const url = await serve((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n");
      socket.write(randomBytes(10_000));
    });
    const response = await get(url);
    const refused = response.read({
      space: () => Buffer.alloc(4096),
      commit: () => {
        throw new AppError("registry_error", "sink says no");
      },
    });
    expect((await rejectedAppError(refused)).message).toBe("sink says no");

    const controller = new AbortController();
    const pending = await get(url, controller.signal);
    const reading = pending.read(collector());
    controller.abort(new AppError("client_closed", "pull cancelled"));
    expect((await rejectedAppError(reading)).code).toBe("client_closed");
  });

  it("refuses an https server whose certificate does not verify", async () => {
    const server = await startUntrustedTlsServer();
    try {
      const error = await rejectedAppError(get(new URL(`https://127.0.0.1:${server.port}/blob`)));
      expect(error.code).toBe("registry_error");
      expect(error.message).toMatch(/self[- ]signed|certificate/i);
    } finally {
      await server.close();
    }
  });
});
