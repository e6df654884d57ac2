/**
 * A loopback HTTP proxy that speaks CONNECT (RFC 9110 section 9.3.6) as corporate proxies do: it
 * reads the request head, opens a TCP connection to the named authority, answers `200 Connection
 * Established` and relays bytes both ways. It records each tunnel's target and the local address
 * of its upstream socket (what the target sees as its peer). With `latencyMs`, every relayed
 * chunk is delayed by that much in each direction, with at most `windowBytes` in flight per
 * direction (a TCP window: the sender is paused beyond it), for the pull bench.
 */
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";

export interface ProxyOptions {
  /** Delay added to every chunk in each direction, ms. Default 0. */
  latencyMs?: number;
  /** Bytes in flight per direction and tunnel while delayed. Default 8 MiB. */
  windowBytes?: number;
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

/** Relays `from` to `to`, each chunk `latencyMs` late, pausing `from` while `window` bytes wait. */
function relay(from: Socket, to: Socket, latencyMs: number, window: number): void {
  if (latencyMs <= 0) {
    from.pipe(to);
    return;
  }
  let waiting = 0;
  let ended = false;
  from.on("data", (chunk: Buffer) => {
    waiting += chunk.length;
    if (waiting >= window) from.pause();
    setTimeout(() => {
      waiting -= chunk.length;
      if (!to.destroyed) to.write(chunk);
      if (waiting < window && from.isPaused()) from.resume();
      if (ended && waiting === 0) to.end();
    }, latencyMs);
  });
  from.on("end", () => {
    ended = true;
    if (waiting === 0) setTimeout(() => to.end(), latencyMs);
  });
}

export async function startProxy(options: ProxyOptions = {}): Promise<LoopbackProxy> {
  const latencyMs = options.latencyMs ?? 0;
  const window = options.windowBytes ?? 8 * 1024 * 1024;
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
        client.destroy();
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
          relay(client, upstream, latencyMs, window);
          relay(upstream, client, latencyMs, window);
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
