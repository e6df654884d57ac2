/**
 * HTTP/1.1 response parsing for the blob transport (transport.ts): the status line and headers,
 * how the body is framed, and the chunked decoder. Pure functions over bytes, no I/O.
 */
import { AppError } from "../../errors.js";

export type Framing =
  { kind: "length"; left: number } | { kind: "chunked"; state: ChunkState } | { kind: "close" };

export interface ChunkState {
  /** Bytes left in the current chunk's data. */
  left: number;
  /** Where the decoder is: reading a size line, data, the CRLF after data, or the trailer. */
  phase: "size" | "data" | "data-end" | "trailer" | "done";
  line: string;
}

export interface ResponseHead {
  statusCode: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** HTTP/1.0, or `Connection: close`: the server closes after this response. */
  closes: boolean;
}

export function parseHead(text: string): ResponseHead {
  const lines = text.split("\r\n");
  const status = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
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
  const connection = (headers.connection ?? "").toLowerCase();
  const closes = status[1] === "0" ? !/\bkeep-alive\b/.test(connection) : /\bclose\b/.test(connection);
  return { statusCode: Number(status[2]), headers, closes };
}

/** How the body of a response to `method` is framed (RFC 9112 section 6.3). */
export function framingFor(method: string, head: ResponseHead): Framing {
  const { statusCode, headers } = head;
  if (
    method === "HEAD" ||
    statusCode === 204 ||
    statusCode === 304 ||
    statusCode < 200 ||
    (method === "CONNECT" && statusCode < 300)
  ) {
    return { kind: "length", left: 0 };
  }
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
export function decodeChunked(state: ChunkState, view: Buffer, onData: (view: Buffer) => void): boolean {
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

/** Builds a request head; refuses header values that would split it. */
export function requestHead(method: string, target: string, headers: Record<string, string>): string {
  const lines = [`${method} ${target} HTTP/1.1`];
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) {
      throw new AppError("invalid_request", "pull: header value with a line break");
    }
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}
