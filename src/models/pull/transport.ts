/**
 * A minimal HTTP/1.1 client for registry traffic. Node's http client hands each 16–64 KiB socket
 * read to the body stream as a newly allocated Buffer, and allocating, parsing and collecting those
 * costs about as much CPU as the hashing and the disk writes of a pull together (measured with
 * `npm run bench:pull` and --cpu-prof). Here the socket reads straight into memory the caller
 * provides (see connection.ts): a Content-Length body lands in the downloader's write blocks with
 * no copy in JavaScript and no garbage. Other framings (chunked, until close) go through a scratch
 * buffer and are copied in.
 *
 * Connections are kept alive and pooled per host (and proxy), at most `maxConnections` each: a
 * large blob is many Range requests to one CDN host, and over TLS each new connection costs a
 * handshake. A proxy, when one applies (proxy.ts), is reached with a CONNECT tunnel.
 */
import type { LookupFunction } from "node:net";
import { AppError } from "../../errors.js";
import { Connection, TransientError } from "./connection.js";
import { exchange, type BodySink, type RawResponse } from "./exchange.js";
import { requestHead } from "./http1.js";
import type { ProxySelector } from "./proxy.js";

export type { BodySink, RawResponse };

export interface TransportOptions {
  /** DNS lookup for a target URL (the pull's host policy checks every answer). */
  lookupFor(url: URL): LookupFunction;
  /** The proxy a URL goes through, if any. Default: none. */
  proxyFor?: ProxySelector;
  /** Connections open at once per host (per proxy and host when proxied). Default 8. */
  maxConnections?: number;
  /** An exchange fails when nothing arrives for this long, ms. Default 30000. */
  timeoutMs?: number;
  /** An idle keep-alive connection is closed after this long, ms. Default 30000. */
  idleMs?: number;
}

export interface Transport {
  /** GET `url`; resolves once the response head has arrived. */
  get(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<RawResponse>;
  /** Closes idle connections now and busy ones when their exchange ends. Idempotent. */
  close(): void;
}

interface HostPool {
  idle: Connection[];
  /** Connections open or being opened (idle ones included). */
  count: number;
  waiters: (() => void)[];
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, "");
}

function portOf(url: URL): number {
  return Number(url.port) || (url.protocol === "https:" ? 443 : 80);
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new AppError("client_closed", "pull cancelled");
}

/** Collects a small body (manifest, token) into memory, refusing more than `limit` bytes. */
export async function readAll(response: RawResponse, limit: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    response.discard();
    throw new AppError("invalid_request", `${what} larger than ${limit} bytes`);
  }
  let memory = Buffer.alloc(Math.min(Number.isFinite(declared) ? declared + 1 : 64 * 1024, limit + 1));
  let filled = 0;
  await response.read({
    space() {
      if (filled === memory.length) {
        if (memory.length > limit)
          throw new AppError("invalid_request", `${what} larger than ${limit} bytes`);
        const grown = Buffer.alloc(Math.min(memory.length * 2, limit + 1));
        memory.copy(grown);
        memory = grown;
      }
      return memory.subarray(filled);
    },
    commit(length) {
      filled += length;
      if (filled > limit) throw new AppError("invalid_request", `${what} larger than ${limit} bytes`);
    },
  });
  return memory.subarray(0, filled);
}

export function createTransport(options: TransportOptions): Transport {
  const maxConnections = options.maxConnections ?? 8;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const idleMs = options.idleMs ?? 30_000;
  const pools = new Map<string, HostPool>();
  const idleTimers = new Map<Connection, NodeJS.Timeout>();
  let closed = false;

  const wake = (pool: HostPool) => pool.waiters.shift()?.();

  const forget = (pool: HostPool, connection: Connection) => {
    const at = pool.idle.indexOf(connection);
    if (at >= 0) pool.idle.splice(at, 1);
    clearTimeout(idleTimers.get(connection));
    idleTimers.delete(connection);
    pool.count--;
    wake(pool);
  };

  const release = (pool: HostPool, connection: Connection, reusable: boolean) => {
    if (!reusable || closed || connection.closed) {
      connection.destroy();
      pool.count--;
      wake(pool);
      return;
    }
    connection.reused = true;
    connection.onIdleClose = () => forget(pool, connection);
    const timer = setTimeout(() => {
      connection.destroy();
      forget(pool, connection);
    }, idleMs);
    timer.unref();
    idleTimers.set(connection, timer);
    pool.idle.push(connection);
    wake(pool);
  };

  /** A new connection to `url`'s host, directly or through a CONNECT tunnel. */
  const dial = async (url: URL, proxy: URL | undefined, signal: AbortSignal): Promise<Connection> => {
    const host = bareHost(url);
    const port = portOf(url);
    const tls = url.protocol === "https:";
    if (!proxy) {
      const connection = Connection.open({ host, port, tls, lookup: options.lookupFor(url) });
      await connection.ready(signal, timeoutMs);
      return connection;
    }
    // The proxy resolves the registry's name, so the private-address rule is applied here to what
    // this machine's DNS answers; a name only the proxy can resolve is left to the proxy's policy.
    await new Promise<void>((resolve, reject) =>
      options.lookupFor(url)(host, { all: true }, (error) =>
        error instanceof AppError ? reject(error) : resolve(),
      ),
    );
    // The proxy is a configured, trusted hop: its own address is not checked against the policy.
    const tunnel = Connection.open(
      { host: bareHost(proxy), port: portOf(proxy), tls: proxy.protocol === "https:" },
      !tls,
    );
    await tunnel.ready(signal, timeoutMs);
    const authority = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const headers: Record<string, string> = { Host: authority };
    if (proxy.username) {
      const credentials = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
      headers["Proxy-Authorization"] = `Basic ${Buffer.from(credentials).toString("base64")}`;
    }
    let answer: RawResponse;
    try {
      answer = await exchange(tunnel, {
        method: "CONNECT",
        head: requestHead("CONNECT", authority, headers),
        signal,
        timeoutMs,
        what: proxy.host,
        onDone: () => undefined,
      });
    } catch (error) {
      tunnel.destroy();
      throw error;
    }
    if (answer.statusCode !== 200) {
      answer.discard();
      tunnel.destroy();
      const message = `pull: proxy ${proxy.host} answered ${answer.statusCode} to CONNECT ${authority}`;
      throw answer.statusCode >= 500 ? new TransientError(message) : new AppError("registry_error", message);
    }
    if (!tls) return tunnel;
    const secured = tunnel.startTls(host, authority);
    await secured.ready(signal, timeoutMs);
    return secured;
  };

  const acquire = async (url: URL, signal: AbortSignal) => {
    const proxy = options.proxyFor?.(url);
    const key = `${proxy?.href ?? ""}|${url.protocol}//${url.host.toLowerCase()}`;
    let pool = pools.get(key);
    if (!pool) {
      pool = { idle: [], count: 0, waiters: [] };
      pools.set(key, pool);
    }
    for (;;) {
      if (closed) throw new AppError("client_closed", "pull: transport closed");
      if (signal.aborted) throw abortReason(signal);
      const idle = pool.idle.pop();
      if (idle) {
        clearTimeout(idleTimers.get(idle));
        idleTimers.delete(idle);
        idle.onIdleClose = undefined;
        if (idle.closed) {
          pool.count--;
          continue;
        }
        return { pool, connection: idle };
      }
      if (pool.count < maxConnections) {
        pool.count++;
        try {
          return { pool, connection: await dial(url, proxy, signal) };
        } catch (error) {
          pool.count--;
          wake(pool);
          throw error;
        }
      }
      const waiting = pool;
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const at = waiting.waiters.indexOf(go);
          if (at >= 0) waiting.waiters.splice(at, 1);
          reject(abortReason(signal));
        };
        const go = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        waiting.waiters.push(go);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  };

  return {
    async get(url, headers, signal) {
      const head = requestHead("GET", `${url.pathname}${url.search}`, {
        Host: url.host,
        "User-Agent": "aixcl",
        "Accept-Encoding": "identity",
        ...headers,
      });
      for (let attempt = 0; ; attempt++) {
        const { pool, connection } = await acquire(url, signal);
        const reused = connection.reused;
        const progress = { responded: false };
        try {
          return await exchange(connection, {
            method: "GET",
            head,
            signal,
            timeoutMs,
            what: url.host,
            progress,
            onDone: (reusable) => release(pool, connection, reusable),
          });
        } catch (error) {
          // A kept-alive connection the server closed meanwhile fails before any answer: the
          // request never reached the server, so it is sent again on another connection.
          if (!reused || progress.responded || signal.aborted || attempt >= maxConnections) throw error;
        }
      }
    },

    close() {
      if (closed) return;
      closed = true;
      for (const pool of pools.values()) {
        for (const connection of pool.idle.splice(0)) connection.destroy();
        for (const waiter of pool.waiters.splice(0)) waiter();
      }
      for (const timer of idleTimers.values()) clearTimeout(timer);
      idleTimers.clear();
    },
  };
}
