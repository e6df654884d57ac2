/**
 * `GET /api/admin/logs?level=&q=&follow=1`: the server's last log lines (src/lib/log-tail.ts) as
 * NDJSON, oldest first, filtered by minimum level and a substring; `follow=1` keeps the stream
 * open and sends each new matching line (docs/admin-console.md). A follower ends when the client
 * goes away, when the server closes (it must not hold the drain), or when it falls too far behind.
 */
import { Hono } from "hono";
import { LOG_LEVELS, logsQuerySchema } from "../../../api/admin-wire.js";
import type { LogLine } from "../../../lib/log-tail.js";
import type { AppEnv } from "../../app-env.js";
import type { ServerDeps } from "../../context.js";
import { parseWire } from "../../validate.js";

/**
 * Lines a stream may hold unread: the ring's whole history (1,000) plus as many new lines; a
 * follower further behind is ended rather than buffered without bound.
 */
const MAX_QUEUED = 2000;

export function logRoutes(deps: ServerDeps, closing: AbortSignal): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get("/", (c) => {
    const query = parseWire(logsQuerySchema, c.req.query());
    const minLevel = query.level === undefined ? 0 : LOG_LEVELS[query.level];
    const q = query.q ?? "";
    const follow = query.follow === "1" || query.follow === "true";
    const matches = (line: LogLine) => line.level >= minLevel && (q === "" || line.text.includes(q));
    const encoder = new TextEncoder();
    const tail = deps.logTail;
    let stop = () => undefined as void;

    const stream = new ReadableStream<Uint8Array>(
      {
        start(controller) {
          for (const line of tail?.lines() ?? []) {
            if (matches(line)) controller.enqueue(encoder.encode(`${line.text}\n`));
          }
          if (!follow || tail === undefined || closing.aborted) {
            controller.close();
            return;
          }
          const end = () => {
            stop();
            try {
              controller.close();
            } catch {
              // Already closed or errored (the client went away first).
            }
          };
          const unfollow = tail.follow((line) => {
            if (!matches(line)) return;
            if ((controller.desiredSize ?? 0) <= 0) return end();
            controller.enqueue(encoder.encode(`${line.text}\n`));
          });
          const signal = c.req.raw.signal;
          stop = () => {
            unfollow();
            closing.removeEventListener("abort", end);
            signal.removeEventListener("abort", stop);
          };
          closing.addEventListener("abort", end, { once: true });
          signal.addEventListener("abort", stop, { once: true });
        },
        cancel() {
          stop();
        },
      },
      new CountQueuingStrategy({ highWaterMark: MAX_QUEUED }),
    );
    return c.body(stream, 200, {
      "Content-Type": "application/x-ndjson",
      "Cache-Control": "no-store",
      // Lines go out as they are logged: a buffering proxy would hold them back.
      "X-Accel-Buffering": "no",
    });
  });
  return app;
}
