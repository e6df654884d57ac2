/**
 * One request and its response on a connection (connection.ts): writes the request head, parses
 * the response head, then reads the body into the caller's sink, straight into its memory for a
 * Content-Length body on a socket that reads in place. When the body has been read to its end and
 * neither side asked to close, the connection is handed back for the next exchange.
 */
import { AppError } from "../../errors.js";
import { TransientError, type Connection } from "./connection.js";
import { decodeChunked, framingFor, parseHead, type Framing, type ResponseHead } from "./http1.js";

/** Largest response head accepted, bytes. */
const MAX_HEAD = 64 * 1024;

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
  /** Drops the body (and the connection, unless the body was empty). */
  discard(): void;
}

export interface ExchangeOptions {
  method: string;
  /** The request head, as http1.requestHead builds it. */
  head: string;
  signal: AbortSignal;
  /** No byte for this long fails the exchange, ms. */
  timeoutMs: number;
  /** The peer, for messages. */
  what: string;
  /** Set once any byte of the response arrived. */
  progress?: { responded: boolean };
  /** Called once when the exchange is over: whether the connection may carry another. */
  onDone(reusable: boolean): void;
}

export function exchange(connection: Connection, options: ExchangeOptions): Promise<RawResponse> {
  const { signal, what } = options;
  const scratch = connection.scratch;
  return new Promise<RawResponse>((resolveHead, rejectHead) => {
    let head: Buffer | undefined = Buffer.alloc(0);
    /** Body bytes that arrived with the head, before read() was called (a copy). */
    let early: Buffer | undefined;
    let parsed: ResponseHead | undefined;
    let framing: Framing | undefined;
    let sink: BodySink | undefined;
    let finish: { resolve(): void; reject(error: Error): void } | undefined;
    let done = false;
    let failure: Error | undefined;

    const settle = (error?: Error) => {
      if (done) return;
      done = true;
      failure = error;
      signal.removeEventListener("abort", onAbort);
      const reusable =
        error === undefined && parsed !== undefined && !parsed.closes && framing?.kind !== "close";
      if (reusable) connection.release();
      else connection.destroy();
      options.onDone(reusable);
      if (error === undefined) finish?.resolve();
      else if (framing === undefined) rejectHead(error);
      else finish?.reject(error);
    };
    const onAbort = () => {
      const reason: unknown = signal.reason;
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

    const response = (head: ResponseHead): RawResponse => ({
      statusCode: head.statusCode,
      headers: head.headers,
      read(target) {
        return new Promise<void>((resolve, reject) => {
          if (failure) return reject(failure);
          if (done) return resolve();
          finish = { resolve, reject };
          sink = target;
          try {
            if (early) deliver(early);
            early = undefined;
          } catch (error) {
            settle(asError(error));
          }
          if (!done) connection.resume();
        });
      },
      discard: () => {
        if (!done) settle(new AppError("registry_error", "pull: response body dropped"));
      },
    });

    connection.use(
      {
        // Node may ask for the next read's buffer before the current read's callback has run, so
        // each read is judged by where its bytes landed, not by the state at callback time.
        buffer() {
          if (done || head !== undefined || sink === undefined || framing?.kind !== "length") return scratch;
          const left = framing.left;
          if (left === 0) return scratch;
          const room = sink.space();
          // Never read past the body: the bytes after it are not the sink's.
          return room.length > left ? room.subarray(0, left) : room;
        },
        bytes(view, inPlace) {
          if (done) return false;
          if (options.progress) options.progress.responded = true;
          try {
            if (inPlace) {
              (sink as BodySink).commit(view.length);
              const framed = framing as { left: number };
              framed.left -= view.length;
              if (framed.left === 0) settle();
              return true;
            }
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
            parsed = parseHead(joined.subarray(0, end).toString("latin1"));
            framing = framingFor(options.method, parsed);
            head = undefined;
            const rest = joined.subarray(end + 4);
            if (rest.length > 0) early = rest;
            resolveHead(response(parsed));
            // An empty body is over already: the connection goes back at once (a 307, a CONNECT).
            if (framing.kind === "length" && framing.left === 0) {
              if (early) settle(new AppError("registry_error", "pull: bytes after an empty response"));
              else settle();
            }
            // Paused until the caller reads the body (read() resumes) or drops it; a finished
            // exchange keeps reading, idle, to notice the server closing.
            return done;
          } catch (error) {
            settle(asError(error));
            return false;
          }
        },
        ended() {
          // Only a body framed by the connection's end may end this way.
          if (framing?.kind === "close" && head === undefined) settle();
          else settle(new TransientError(`pull: ${what} closed the connection early`));
        },
        failed: (error) => settle(error),
      },
      options.timeoutMs,
    );
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    connection.socket.write(options.head);
  });
}
