/**
 * A loopback HTTP proxy that speaks CONNECT (RFC 9110 section 9.3.6) as corporate proxies do: it
 * reads the request head, opens a TCP connection to the named authority, answers `200 Connection
 * Established` and relays bytes both ways. It records each tunnel's target and the local address
 * of its upstream socket (what the target sees as its peer). With `latencyMs`, every relayed
 * chunk is delayed by that much in each direction, with at most `windowBytes` in flight per
 * direction (a TCP window: the sender is paused beyond it); with `bandwidth`, all tunnels share a
 * link of that many bytes per second in each direction (chunks queue for it, as on a real line).
 * Both are for the pull bench (bench/pull.ts).
 */
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";

export interface ProxyOptions {
  /** Delay added to every chunk in each direction, ms. Default 0. */
  latencyMs?: number;
  /** Bytes in flight per direction and tunnel while delayed. Default 8 MiB. */
  windowBytes?: number;
  /** Capacity of the link all tunnels share, bytes/s per direction. Default: unlimited. */
  bandwidth?: number;
}

/** One direction of the shared link: when the next chunk may start crossing it. */
class Link {
  private free = 0;
  constructor(private readonly bytesPerMs: number) {}
  /** ms from now until a chunk of `bytes` has crossed (queued behind earlier chunks). */
  delay(bytes: number): number {
    const now = performance.now();
    this.free = Math.max(this.free, now) + bytes / this.bytesPerMs;
    return this.free - now;
  }
}

export interface LoopbackProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Authorities CONNECT was asked for, in order. */
  connects: string[];
  /** `address:port` of each upstream socket (the peer the target sees). */
  outbound: string[];
  close(): Promise<void>;
}

/**
 * Relays `from` to `to`, each chunk `latencyMs` late (plus its time on `link`), pausing `from`
 * while `window` bytes wait. Chunks leave in arrival order from one queue: a timer per chunk
 * could fire out of order (timers have whole-millisecond resolution) and corrupt the stream.
 */
function relay(from: Socket, to: Socket, latencyMs: number, window: number, link?: Link): void {
  if (latencyMs <= 0 && !link) {
    from.pipe(to);
    return;
  }
  const queue: { chunk: Buffer; due: number }[] = [];
  let waiting = 0;
  let ended = false;
  let timer: NodeJS.Timeout | undefined;
  const pump = () => {
    timer = undefined;
    const now = performance.now();
    while (queue[0] && queue[0].due <= now) {
      const { chunk } = queue.shift()!;
      waiting -= chunk.length;
      if (!to.destroyed) to.write(chunk);
    }
    if (waiting < window && from.isPaused()) from.resume();
    if (queue[0]) timer = setTimeout(pump, Math.max(1, queue[0].due - now));
    else if (ended) to.end();
  };
  from.on("data", (chunk: Buffer) => {
    waiting += chunk.length;
    if (waiting >= window) from.pause();
    const now = performance.now();
    queue.push({ chunk, due: now + latencyMs + (link?.delay(chunk.length) ?? 0) });
    timer ??= setTimeout(pump, Math.max(1, (queue[0]?.due ?? now) - now));
  });
  from.on("end", () => {
    ended = true;
    if (queue.length === 0) setTimeout(() => to.end(), latencyMs);
  });
}

export async function startProxy(options: ProxyOptions = {}): Promise<LoopbackProxy> {
  const latencyMs = options.latencyMs ?? 0;
  const window = options.windowBytes ?? 8 * 1024 * 1024;
  const up = options.bandwidth ? new Link(options.bandwidth / 1000) : undefined;
  const down = options.bandwidth ? new Link(options.bandwidth / 1000) : undefined;
  const sockets = new Set<Socket>();
  const state: Omit<LoopbackProxy, "url" | "close"> = { connects: [], outbound: [] };

  const server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      client.off("data", onData);
      client.pause();
      const line = /^CONNECT (\S+) HTTP\/1\.[01]\r\n/.exec(head.subarray(0, end + 2).toString("latin1"));
      const target = line?.[1] ? /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(line[1]) : undefined;
      if (!line?.[1] || !target?.[1] || !target[2]) {
        client.end("HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      state.connects.push(line[1]);
      const upstream = connect({ host: target[1].replace(/^\[|\]$/g, ""), port: Number(target[2]) });
      sockets.add(upstream);
      upstream.on("close", () => {
        sockets.delete(upstream);
        // A target that ended cleanly has its last bytes still crossing the simulated link: the
        // relay ends the client after them. Only an abrupt close cuts the client at once.
        if (!upstream.readableEnded) client.destroy();
      });
      client.on("close", () => upstream.destroy());
      upstream.on("error", () => {
        if (!client.writableEnded && upstream.bytesRead === 0) {
          client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
      });
      upstream.once("connect", () => {
        state.outbound.push(`${upstream.localAddress}:${upstream.localPort}`);
        const rest = head.subarray(end + 4);
        const answer = () => {
          client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          if (rest.length > 0) upstream.write(rest);
          relay(client, upstream, latencyMs, window, up);
          relay(upstream, client, latencyMs, window, down);
          client.resume();
        };
        // The answer crosses the simulated link too.
        if (latencyMs > 0) setTimeout(answer, latencyMs);
        else answer();
      });
    };
    client.on("data", onData);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    ...state,
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
