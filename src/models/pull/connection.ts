/**
 * One client connection of the blob transport (transport.ts): a socket, TCP or TLS, direct or
 * through a proxy's CONNECT tunnel, that carries one exchange at a time and goes back to its
 * pool between exchanges (keep-alive). Reads are routed to the current exchange's reader. A plain
 * or directly opened TLS socket reads straight into memory the reader provides (`onread` with a
 * buffer function, no allocation per read); a TLS session inside a tunnel cannot (Node ignores
 * `onread` when TLS wraps an existing socket), so its bytes arrive as `data` chunks and are copied.
 */
import { connect as netConnect, isIP, type LookupFunction, type OnReadOpts, type Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions } from "node:tls";
import { AppError } from "../../errors.js";

/** The socket read buffer, bytes (TLS hands over at most one 16 KiB record per read anyway). */
const READ_BUFFER = 256 * 1024;

/**
 * A connection failure worth another attempt: reset, early close, timeout, or a 5xx answer. The
 * downloader retries a part on these (download.ts); anything else ends the pull.
 */
export class TransientError extends AppError {
  constructor(message: string, cause?: unknown) {
    super("registry_error", message, cause === undefined ? {} : { cause });
  }
}

/** What the connection's current exchange does with the bytes it receives. */
export interface Reader {
  /** Memory for the next socket read; `scratch` when the bytes are not the body's. */
  buffer(): Uint8Array;
  /**
   * `view` arrived; `inPlace` when it landed in memory from buffer() other than the scratch
   * buffer. Returns false to stop reading until resume().
   */
  bytes(view: Buffer, inPlace: boolean): boolean;
  /** The socket ended (the peer's FIN). */
  ended(): void;
  /** The socket failed or closed. */
  failed(error: Error): void;
}

export interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
  /** Name to verify the certificate against (the host unless it is an IP address). */
  servername?: string;
  lookup?: LookupFunction;
}

export class Connection {
  readonly scratch = Buffer.allocUnsafe(READ_BUFFER);
  readonly socket: Socket;
  /** Whether reads land in reader memory (onread) rather than arriving as `data` chunks. */
  readonly inPlace: boolean;
  /** Whether an exchange has completed on it before (a reused connection may be stale). */
  reused = false;
  private reader: Reader | undefined;
  private dead = false;
  /** Called once when the connection closes while no exchange holds it. */
  onIdleClose: (() => void) | undefined;

  private constructor(socket: (onread: OnReadOpts | undefined) => Socket, inPlace: boolean, what: string) {
    this.inPlace = inPlace;
    const onread = inPlace
      ? {
          buffer: () => (this.dead ? this.scratch : (this.reader?.buffer() ?? this.scratch)),
          callback: (length: number, buffer: Uint8Array) => {
            const view = Buffer.from(buffer.buffer, buffer.byteOffset, length);
            return this.deliver(view, buffer.buffer !== this.scratch.buffer);
          },
        }
      : undefined;
    this.socket = socket(onread);
    this.listeners = {
      data: (chunk: Buffer) => {
        if (!this.deliver(chunk, false)) this.socket.pause();
      },
      error: (error: Error) =>
        this.fail(
          error instanceof AppError
            ? error
            : new TransientError(`pull: cannot fetch from ${what}: ${error.message}`, error),
        ),
      end: () => {
        if (this.reader) this.reader.ended();
        else this.fail(new TransientError(`pull: ${what} closed the connection`));
      },
      close: () => this.fail(new TransientError(`pull: ${what} closed the connection early`)),
      timeout: () =>
        this.fail(new TransientError(`pull: ${what} sent nothing for ${this.socket.timeout ?? 0} ms`)),
    };
    for (const [event, listener] of Object.entries(this.listeners)) {
      if (event !== "data" || !inPlace) this.socket.on(event, listener);
    }
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each event's own signature
  private readonly listeners: Record<string, (...args: any[]) => void>;

  /** Opens a connection to `endpoint` (not yet connected: see ready()). */
  static open(endpoint: Endpoint, inPlace = true): Connection {
    const { host, port } = endpoint;
    const lookup = endpoint.lookup ? { lookup: endpoint.lookup } : {};
    return new Connection(
      (onread) =>
        endpoint.tls
          ? // A TLSSocket opened by tls.connect honours `onread` like any net.Socket (Node 20);
            // @types/node only declares it for net.connect.
            tlsConnect({
              host,
              port,
              ...lookup,
              ...(onread ? { onread } : {}),
              servername: endpoint.servername ?? (isIP(host) === 0 ? host : undefined),
              ALPNProtocols: ["http/1.1"],
            } as ConnectionOptions)
          : netConnect({ host, port, ...lookup, ...(onread ? { onread } : {}) }),
      inPlace,
      `${host.includes(":") ? `[${host}]` : host}:${port}`,
    );
  }

  /** TLS to `servername` inside this connection (a proxy tunnel); this connection is given up. */
  startTls(servername: string, what: string): Connection {
    this.release();
    for (const [event, listener] of Object.entries(this.listeners)) this.socket.off(event, listener);
    return new Connection(
      () =>
        tlsConnect({
          socket: this.socket,
          servername: isIP(servername) === 0 ? servername : undefined,
          ALPNProtocols: ["http/1.1"],
        }),
      false,
      what,
    );
  }

  /**
   * Resolves once connected (TLS: handshake done and the certificate verified); fails after
   * `timeoutMs` without progress (a silently dropped SYN would otherwise wait minutes).
   */
  ready(signal: AbortSignal, timeoutMs: number): Promise<void> {
    const event = "encrypted" in this.socket ? "secureConnect" : "connect";
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        this.reader = undefined;
        signal.removeEventListener("abort", onAbort);
        this.socket.off(event, onConnect);
        if (error) {
          this.destroy();
          reject(error);
        } else resolve();
      };
      const onConnect = () => done();
      this.socket.setTimeout(timeoutMs);
      const onAbort = () =>
        done(
          signal.reason instanceof Error ? signal.reason : new AppError("client_closed", "pull cancelled"),
        );
      // Until connected, a failure goes to this promise.
      this.reader = {
        buffer: () => this.scratch,
        bytes: () => true,
        ended: () => done(new TransientError("pull: connection closed during setup")),
        failed: (error) => done(error),
      };
      this.socket.once(event, onConnect);
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  get closed(): boolean {
    return this.dead || this.socket.destroyed;
  }

  /** Hands the connection to an exchange; reads go to `reader` until release(). */
  use(reader: Reader, timeoutMs: number): void {
    this.reader = reader;
    this.socket.setTimeout(timeoutMs);
  }

  /** The exchange is over; idle until the next use(). Reads continue, to notice a close. */
  release(): void {
    this.reader = undefined;
    this.socket.setTimeout(0);
    if (!this.dead) this.socket.resume();
  }

  resume(): void {
    if (!this.dead) this.socket.resume();
  }

  destroy(): void {
    this.dead = true;
    this.socket.destroy();
  }

  private deliver(view: Buffer, inPlace: boolean): boolean {
    if (this.dead) return false;
    if (this.reader) return this.reader.bytes(view, inPlace);
    // Nothing is asked of an idle connection: bytes now are a protocol error.
    if (view.length > 0) this.fail(new TransientError("pull: unexpected bytes on an idle connection"));
    return false;
  }

  private fail(error: Error): void {
    const reader = this.reader;
    if (this.dead && !reader) return;
    this.destroy();
    if (reader) {
      this.reader = undefined;
      reader.failed(error);
    } else {
      const notify = this.onIdleClose;
      this.onIdleClose = undefined;
      notify?.();
    }
  }
}
