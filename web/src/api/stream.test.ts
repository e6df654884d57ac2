import { describe, expect, it } from "vitest";
import { readStream } from "./stream";
import type { StreamEvent } from "./types";

/** A Response whose body arrives in the given pieces, split anywhere (mid-line, mid-character). */
function chunked(pieces: (string | Uint8Array)[]): Response {
  const encoder = new TextEncoder();
  return new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const piece of pieces)
          controller.enqueue(typeof piece === "string" ? encoder.encode(piece) : piece);
        controller.close();
      },
    }),
  );
}

describe("readStream", () => {
  it("parses NDJSON lines split across chunks and multi-byte characters", async () => {
    const euro = new TextEncoder().encode('{"type":"delta","content":"€"}\n');
    const events: StreamEvent[] = [];
    await readStream(
      chunked([
        '{"type":"delta",',
        '"content":"Hel"}\n{"type":"delta","content":"lo"}',
        "\n",
        euro.slice(0, 28),
        euro.slice(28),
      ]),
      (event) => events.push(event),
    );
    expect(events).toEqual([
      { type: "delta", content: "Hel" },
      { type: "delta", content: "lo" },
      { type: "delta", content: "€" },
    ]);
  });

  it("skips a line that is not JSON and reads a last line without a newline", async () => {
    const events: StreamEvent[] = [];
    await readStream(chunked(["not json\n", '{"type":"delta","content":"x"}']), (event) =>
      events.push(event),
    );
    expect(events).toEqual([{ type: "delta", content: "x" }]);
  });
});
