/**
 * A minimal HTTP/1.1 GET for blob transfers. Node's http client hands each 16–64 KiB socket read
 * to the body stream as a newly allocated Buffer, and allocating, parsing and collecting those
 * costs about as much CPU as the hashing and the disk writes of a pull together (measured with
 * `npm run bench:pull` and --cpu-prof). Here the socket reads straight into memory the caller
 * provides (`onread` with a buffer function): a Content-Length body lands in the downloader's
 * write blocks with no copy in JavaScript and no garbage. Other framings (chunked, until close)
 * go through a scratch buffer and are copied in.
 *
 * One request per connection (`Connection: close`): a pull opens a few connections per blob
 * part, which is nothing next to the part's bytes. Body framing: Content-Length, chunked, or
 * until the server closes.
 */
import { connect as netConnect, isIP, type LookupFunction, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { AppError } from "../../errors.js";

/** Largest response head accepted, bytes. */
const MAX_HEAD = 64 * 1024;
/** The socket read buffer, bytes (TLS hands over at most one 16 KiB record per read anyway). */
const READ_BUFFER = 256 * 1024;

/** Where a body goes: memory the socket reads into directly. */
export interface BodySink {
  /** Room for the next bytes (at least one byte). Called before each socket read. */
  space(): Uint8Array;
  /** `length` bytes were written at the start of the last space(). May throw to stop the body. */
  commit(length: number): void;
}

export interface RawResponse {
  statusCode: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /**
   * Reads the body into `sink` until its end. Rejects when the connection fails, the sink throws,
   * or the body ends short of its Content-Length.
   */
  read(sink: BodySink): Promise<void>;
  /** Drops the connection without reading the body. */
  discard(): void;
}

export interface RawGetOptions {
  headers: Record<string, string>;
  signal: AbortSignal;
  /** DNS lookup (the pull's host policy checks every answer). */
  lookup: LookupFunction;
}

type Framing = { kind: "length"; left: number } | { kind: "chunked"; state: ChunkState } | { kind: "close" };

interface ChunkState {
  /** Bytes left in the current chunk's data. */
  left: number;
  /** Where the decoder is: reading a size line, data, the CRLF after data, or the trailer. */
  phase: "size" | "data" | "data-end" | "trailer" | "done";
  line: string;
}

function parseHead(text: string): { statusCode: number; headers: Record<string, string> } {
  const lines = text.split("\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
  if (!status) throw new AppError("registry_error", "pull: malformed HTTP status line");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new AppError("registry_error", "pull: malformed HTTP header");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { statusCode: Number(status[1]), headers };
}

function framingFor(headers: Record<string, string>): Framing {
  const encoding = headers["transfer-encoding"]?.toLowerCase();
  if (encoding !== undefined && encoding !== "identity") {
    if (encoding.split(",").pop()?.trim() !== "chunked") {
      throw new AppError("registry_error", `pull: unsupported transfer encoding ${JSON.stringify(encoding)}`);
    }
    return { kind: "chunked", state: { left: 0, phase: "size", line: "" } };
  }
  const length = headers["content-length"];
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) throw new AppError("registry_error", "pull: invalid Content-Length");
    return { kind: "length", left: Number(length) };
  }
  return { kind: "close" };
}

/**
 * Feeds `view` through the chunked decoder, passing data bytes on; returns true at the body's end.
 */
function decodeChunked(state: ChunkState, view: Buffer, onData: (view: Buffer) => void): boolean {
  let at = 0;
  while (at < view.length && state.phase !== "done") {
    if (state.phase === "data") {
      const take = Math.min(state.left, view.length - at);
      onData(view.subarray(at, at + take));
      at += take;
      state.left -= take;
      if (state.left === 0) state.phase = "data-end";
      continue;
    }
    const byte = view[at++] as number;
    if (byte !== 0x0a) {
      if (state.line.length > 1024) throw new AppError("registry_error", "pull: malformed chunked body");
      state.line += String.fromCharCode(byte);
      continue;
    }
    const line = state.line.replace(/\r$/, "");
    state.line = "";
    if (state.phase === "size") {
      const size = /^([0-9a-fA-F]+)/.exec(line);
      if (!size?.[1]) throw new AppError("registry_error", "pull: malformed chunk size");
      state.left = parseInt(size[1], 16);
      state.phase = state.left === 0 ? "trailer" : "data";
    } else if (state.phase === "data-end") {
      if (line !== "") throw new AppError("registry_error", "pull: malformed chunked body");
      state.phase = "size";
    } else if (line === "") {
      state.phase = "done";
    }
  }
  return state.phase === "done";
}

/** GET `url` (http or https) with `headers`; resolves once the response head has arrived. */
export function rawGet(url: URL, options: RawGetOptions): Promise<RawResponse> {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries({
    "User-Agent": "aixcl",
    "Accept-Encoding": "identity",
    ...options.headers,
    Connection: "close",
  })) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      return Promise.reject(new AppError("invalid_request", "pull: header value with a line break"));
    }
    lines.push(`${name}: ${value}`);
  }
  const requestHead = `${lines.join("\r\n")}\r\n\r\n`;

  return new Promise<RawResponse>((resolveHead, rejectHead) => {
    const scratch = Buffer.allocUnsafe(READ_BUFFER);
    let head: Buffer | undefined = Buffer.alloc(0);
    /** Body bytes that arrived with the head, before read() was called (a copy). */
    let early: Buffer | undefined;
    let framing: Framing | undefined;
    let sink: BodySink | undefined;
    let finish: { resolve(): void; reject(error: Error): void } | undefined;
    let done = false;
    let failure: Error | undefined;

    const settle = (error?: Error) => {
      if (done) return;
      done = true;
      failure = error;
      socket.destroy();
      options.signal.removeEventListener("abort", onAbort);
      if (error === undefined) finish?.resolve();
      else if (framing === undefined) rejectHead(error);
      else finish?.reject(error);
    };
    const onAbort = () => {
      const reason: unknown = options.signal.reason;
      settle(reason instanceof Error ? reason : new AppError("client_closed", "pull cancelled"));
    };
    const asError = (error: unknown) =>
      error instanceof Error ? error : new AppError("internal", "pull: body sink failed");

    /** Copies body bytes that are not in the sink's memory yet (early bytes, chunked data). */
    const copyIn = (view: Buffer) => {
      for (let at = 0; at < view.length;) {
        const room = (sink as BodySink).space();
        const length = view.copy(room, 0, at);
        at += length;
        (sink as BodySink).commit(length);
      }
    };
    /** Body bytes outside the sink's memory, framed as the response says. */
    const deliver = (view: Buffer): void => {
      if (done || framing === undefined) return;
      if (framing.kind === "chunked") {
        if (decodeChunked(framing.state, view, copyIn)) settle();
        return;
      }
      const take = framing.kind === "length" ? Math.min(framing.left, view.length) : view.length;
      if (take > 0) copyIn(view.subarray(0, take));
      if (framing.kind === "length") {
        framing.left -= take;
        if (framing.left === 0) settle();
      }
    };
    /** Reads go straight into the sink for a Content-Length body; anything else uses scratch. */
    const direct = () => head === undefined && sink !== undefined && framing?.kind === "length";

    const response = (parsed: ReturnType<typeof parseHead>): RawResponse => ({
      ...parsed,
      read(target) {
        return new Promise<void>((resolve, reject) => {
          if (failure) return reject(failure);
          finish = { resolve, reject };
          sink = target;
          try {
            if (early) deliver(early);
            early = undefined;
            if (!done && framing?.kind === "length" && framing.left === 0) settle();
          } catch (error) {
            settle(asError(error));
          }
          if (!done) socket.resume();
        });
      },
      discard: () => settle(),
    });

    // Node may ask for the next read's buffer before the current read's callback has run, so
    // each read is judged by where its bytes landed, not by the state at callback time.
    const nextBuffer = (): Uint8Array => {
      if (!direct() || done) return scratch;
      const left = (framing as { left: number }).left;
      if (left === 0) return scratch;
      const room = (sink as BodySink).space();
      // Never read past the body: the bytes after it are not the sink's.
      return room.length > left ? room.subarray(0, left) : room;
    };

    const onRead = (length: number, buffer: Uint8Array): boolean => {
      if (done) return false;
      try {
        if (buffer.buffer !== scratch.buffer) {
          (sink as BodySink).commit(length);
          const framed = framing as { left: number };
          framed.left -= length;
          if (framed.left === 0) settle();
          return true;
        }
        const view = Buffer.from(buffer.buffer, buffer.byteOffset, length);
        if (head === undefined) {
          deliver(view);
          return true;
        }
        const joined = head.length === 0 ? Buffer.from(view) : Buffer.concat([head, view]);
        const end = joined.indexOf("\r\n\r\n");
        if (end < 0) {
          if (joined.length > MAX_HEAD)
            settle(new AppError("registry_error", "pull: response head too large"));
          else head = joined;
          return true;
        }
        const parsed = parseHead(joined.subarray(0, end).toString("latin1"));
        framing = framingFor(parsed.headers);
        head = undefined;
        const rest = joined.subarray(end + 4);
        if (rest.length > 0) early = rest;
        resolveHead(response(parsed));
        // Paused until the caller reads the body (read() resumes) or drops it.
        return false;
      } catch (error) {
        settle(asError(error));
        return false;
      }
    };

    const port = Number(url.port) || (url.protocol === "https:" ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const onread = { buffer: nextBuffer, callback: onRead };
    const socket: Socket =
      url.protocol === "https:"
        ? // TLSSocket honours `onread` like any net.Socket (checked on Node 20); @types/node only
          // declares it for net.connect.
          tlsConnect({
            host,
            port,
            lookup: options.lookup,
            onread,
            ...(isIP(host) === 0 ? { servername: host } : {}),
            ALPNProtocols: ["http/1.1"],
          } as ConnectionOptions)
        : netConnect({ host, port, lookup: options.lookup, onread });
    socket.once(url.protocol === "https:" ? "secureConnect" : "connect", () => socket.write(requestHead));
    socket.on("error", (error: Error) =>
      settle(
        error instanceof AppError
          ? error
          : new AppError("registry_error", `pull: cannot fetch from ${url.host}: ${error.message}`, {
              cause: error,
            }),
      ),
    );
    socket.on("end", () => {
      // Only a body framed by the connection's end may end this way.
      if (framing?.kind === "close") settle();
      else settle(new AppError("registry_error", `pull: ${url.host} closed the connection early`));
    });
    socket.on("close", () =>
      settle(new AppError("registry_error", `pull: ${url.host} closed the connection early`)),
    );
    if (options.signal.aborted) onAbort();
    else options.signal.addEventListener("abort", onAbort, { once: true });
  });
}
