import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { createProgressView, formatBytes } from "../../src/cli/progress.js";

/** A stream that says it is a terminal and keeps what is written (ANSI codes stripped). */
function fakeStream(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let written = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: tty, columns: 120, rows: 40 });
  // eslint-disable-next-line no-control-regex
  return { stream, text: () => written.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, "") };
}

const DIGEST = `sha256:${"0123456789ab".repeat(5)}cdef`;
const OTHER = `sha256:${"fedcba987654".repeat(5)}3210`;
const MB = 1_000_000;

describe("add progress view", () => {
  it("draws one bar per layer on a terminal with percent, bytes, speed and ETA", async () => {
    const { stream, text } = fakeStream(true);
    const view = createProgressView(stream);
    view.update({ status: "pulling manifest" });
    view.update({ status: "pulling 0123456789ab", digest: DIGEST, total: 4 * MB, completed: 0 });
    view.update({ status: "pulling fedcba987654", digest: OTHER, total: 2000, completed: 2000 });
    await sleep(300);
    view.update({ status: "pulling 0123456789ab", digest: DIGEST, total: 4 * MB, completed: 2 * MB });
    await sleep(150);
    const midway = text();
    expect(midway).toContain("pulling manifest");
    expect(midway).toMatch(
      /pulling 0123456789ab .* 50% \| 2\.0 MB\/4\.0 MB \| \d+(\.\d)? [KMG]B\/s \| ETA \d+s/,
    );
    expect(midway).toMatch(/pulling fedcba987654 .* 100% \| 2\.0 KB\/2\.0 KB/);
    view.update({ status: "pulling 0123456789ab", digest: DIGEST, total: 4 * MB, completed: 4 * MB });
    view.update({ status: "success" });
    view.stop();
    view.stop();
    expect(text()).toMatch(/pulling 0123456789ab .* 100% \| 4\.0 MB\/4\.0 MB/);
    expect(text()).toContain("success");
  });

  it("prints plain lines (every 10 %, each status once) when not a terminal", () => {
    const { stream, text } = fakeStream(false);
    const view = createProgressView(stream);
    view.update({ status: "pulling manifest" });
    for (let done = 0; done <= 100; done += 5) {
      view.update({ status: "pulling 0123456789ab", digest: DIGEST, total: 100 * MB, completed: done * MB });
    }
    view.update({ status: "verifying sha256 digest" });
    view.update({ status: "verifying sha256 digest" });
    view.update({ status: "success" });
    view.stop();
    const lines = text().trimEnd().split("\n");
    expect(lines[0]).toBe("pulling manifest");
    expect(lines.slice(1, 12).map((l) => /: (\d+)% /.exec(l)?.[1])).toEqual([
      "0",
      "10",
      "20",
      "30",
      "40",
      "50",
      "60",
      "70",
      "80",
      "90",
      "100",
    ]);
    expect(lines[11]).toMatch(/^pulling 0123456789ab: 100% \(100 MB\/100 MB, /);
    expect(lines.slice(12)).toEqual(["verifying sha256 digest", "success"]);
  });

  it("formats sizes in decimal units as Ollama does", () => {
    expect([0, 999, 1000, 1500, 52_000, 1_234_567, 3.2e9].map(formatBytes)).toEqual([
      "0 B",
      "999 B",
      "1.0 KB",
      "1.5 KB",
      "52 KB",
      "1.2 MB",
      "3.2 GB",
    ]);
  });
});
