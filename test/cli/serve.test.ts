import type { ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installModel, tinyModel } from "../support/test-models.js";
import { cliEnv, spawnCli } from "./run-cli.js";

const MODEL = "tiny:latest";
let home: string;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), "aixcl-serve-"));
  await installModel(join(home, "models"), MODEL, await tinyModel());
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** Starts `aixcl serve --port 0` and resolves with the URL it prints. */
async function serve(extra: string[] = [], processGroup = false): Promise<Served> {
  const child = spawnCli(
    ["serve", "--port", "0", "--profile", "core", "--log-level", "info", ...extra],
    cliEnv(home),
    { processGroup },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      const match = /^aixcl listening on (http:\/\/\S+)$/.exec(line);
      if (match?.[1]) resolve(match[1]);
    });
    void exited.then(({ code }) => reject(new Error(`serve exited ${code} before listening: ${stderr}`)));
  });
  return { child, url, exited, stderr: () => stderr };
}

describe("aixcl serve", () => {
  it("prints the real URL for --port 0, serves, logs JSON to $AIXCL_HOME/logs, exits 0 on SIGTERM", async () => {
    const served = await serve();
    try {
      const url = new URL(served.url);
      expect(url.hostname).toBe("127.0.0.1");
      expect(Number(url.port)).toBeGreaterThan(0);
      const version = await fetch(`${served.url}/api/version`);
      expect(version.status).toBe(200);
      expect(((await version.json()) as { version: string }).version).toMatch(/^\d+\.\d+\.\d+/);
      expect(
        ((await (await fetch(`${served.url}/api/tags`)).json()) as { models: { name: string }[] }).models,
      ).toEqual([expect.objectContaining({ name: MODEL })]);
      // Where the CLI finds it (a random port here): written at start, removed at stop.
      const record = JSON.parse(await readFile(join(home, "run", "server.json"), "utf8")) as object;
      expect(record).toMatchObject({ pid: served.child.pid, url: served.url, port: Number(url.port) });
    } finally {
      served.child.kill("SIGTERM");
    }
    expect(await served.exited).toEqual({ code: 0, signal: null });
    await expect(stat(join(home, "run", "server.json"))).rejects.toThrow(/ENOENT/);

    const log = await readFile(join(home, "logs", "aixcl.log"), "utf8");
    const records = log
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { msg: string; level: number });
    expect(records.map((r) => r.msg)).toEqual(expect.arrayContaining(["aixcl listening", "stopped"]));
    // stderr (not a TTY here) gets the same JSON lines, the last one written before the exit.
    const printed = served
      .stderr()
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { msg: string });
    expect(printed.map((r) => r.msg)).toEqual(records.map((r) => r.msg));
  });

  // One compute thread: on a shared 2-core machine two threads can collapse to a few tokens per
  // second under load, and the stream must finish within the server's 10 s drain window.
  it("drains a stream in flight on SIGTERM before exiting 0", async () => {
    const served = await serve(["--threads", "1"]);
    await expectDrained(served, () => served.child.kill("SIGTERM"));
  });

  it("drains a stream in flight on Ctrl-C (SIGINT to the whole process group) before exiting 0", async () => {
    // A terminal's Ctrl-C signals every process in the foreground group, model runners included:
    // they must leave shutdown to the server instead of dying under the stream.
    const served = await serve(["--threads", "1"], true);
    await expectDrained(served, () => process.kill(-(served.child.pid ?? 0), "SIGINT"));
  });

  it("exits at once with 128 + signal on a second signal during the drain", async () => {
    const served = await serve(["--threads", "1"]);
    try {
      const response = await fetch(`${served.url}/api/generate`, {
        method: "POST",
        // Nearly the whole 2048-token context: seconds of decoding, far longer than the 200 ms below.
        body: JSON.stringify({ model: MODEL, prompt: "hi", options: { num_predict: 1900, temperature: 0 } }),
      });
      const reader = (response.body as ReadableStream<Uint8Array>).getReader();
      await reader.read();
      served.child.kill("SIGTERM");
      // Apart in time: two identical signals sent back to back may be delivered as one.
      await new Promise((resolve) => setTimeout(resolve, 200));
      served.child.kill("SIGTERM");
      expect(await served.exited).toEqual({ code: 143, signal: null }); // 128 + SIGTERM (15)
      await reader.cancel().catch(() => {});
    } finally {
      if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill("SIGKILL");
    }
  });
});

/** Streams a long generation, signals once the first bytes arrive, and expects all of it plus exit 0. */
async function expectDrained(served: Served, signal: () => void): Promise<void> {
  // Long enough to be in flight when the signal lands (readsAfterSignal checks it was), short
  // enough not to spend the file's time decoding.
  const numPredict = 150;
  try {
    const response = await fetch(`${served.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({
        model: MODEL,
        prompt: "hi",
        options: { num_predict: numPredict, temperature: 0 },
      }),
    });
    expect(response.status).toBe(200);
    let signalled = false;
    let readsAfterSignal = 0;
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const bytes of response.body as AsyncIterable<Uint8Array>) {
      if (signalled) readsAfterSignal += 1;
      else {
        // The first bytes are out: the stream is in flight when the signal arrives.
        signal();
        signalled = true;
      }
      buffered += decoder.decode(bytes, { stream: true });
    }
    const chunks = buffered
      .trim()
      .split("\n")
      .map(
        (line) =>
          JSON.parse(line) as { done: boolean; eval_count?: number; done_reason?: string; error?: string },
      );
    expect(chunks.filter((chunk) => chunk.error !== undefined)).toEqual([]);
    // The whole generation arrived: the shutdown waited for it instead of cutting it.
    expect(chunks.at(-1)).toMatchObject({ done: true, done_reason: "length", eval_count: numPredict });
    expect(readsAfterSignal).toBeGreaterThan(0);
    expect(await served.exited).toEqual({ code: 0, signal: null });
  } finally {
    if (served.child.exitCode === null && served.child.signalCode === null) served.child.kill("SIGKILL");
  }
}
