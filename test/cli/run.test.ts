import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TestPlatform } from "../support/platform.js";
import { cliEnv, closedPort, runCliWithInput as aixcl, startHelloPlatform } from "./run-cli.js";

const promptCounts = (stderr: string): number[] =>
  [...stderr.matchAll(/^prompt eval count:\s+(\d+) token\(s\)$/gm)].map((m) => Number(m[1]));

describe("aixcl run", () => {
  let platform: TestPlatform;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    ({ platform, env } = await startHelloPlatform());
  });
  afterAll(async () => {
    await platform.close();
  });

  it("answers a prompt argument once, streaming the model's text to stdout", async () => {
    const result = await aixcl(["run", "hello", "Say", "hi"], env);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Hello world!\n");
  });

  it("takes a piped stdin as the one-shot prompt", async () => {
    const result = await aixcl(["run", "hello", "--verbose"], env, "Say hi\n");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Hello world!\n");
    // --verbose: the stats of that one answer, with the piped prompt counted.
    expect(promptCounts(result.stderr)).toHaveLength(1);
    expect(promptCounts(result.stderr)[0]).toBeGreaterThan(2);
  });

  it("chats interactively: history, /clear, /set system, multi-line input, /?, /bye", async () => {
    const lines = [
      "Hi",
      "Hi", // with the first turn as history
      "/clear",
      "Hi", // same prompt as the first turn again
      "/clear",
      "/set system You are a terse assistant that always answers in exactly three words.",
      "Hi", // the first prompt plus the system message
      '"""Line one',
      "line two",
      'line three"""', // one message of three lines, with the previous turn as history
      "/?",
      "/nope",
      "/bye",
      "Hi", // after /bye: never sent
    ];
    const result = await aixcl(["run", "hello", "--interactive", "--verbose"], env, `${lines.join("\n")}\n`);
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out.match(/Hello world!\n/g)).toHaveLength(5);
    expect(out.match(/Cleared session context\n/g)).toHaveLength(2);
    expect(out).toContain("Set system message.\n");
    expect(out).toContain("Available Commands:");
    expect(out).toContain("Unknown command '/nope'. Type /? for help\n");

    const [first, second, cleared, withSystem, multiLine] = promptCounts(result.stderr) as [
      number,
      number,
      number,
      number,
      number,
    ];
    expect(promptCounts(result.stderr)).toHaveLength(5);
    expect(second).toBeGreaterThan(first);
    expect(cleared).toBe(first);
    // The system message is 15 words: well over 10 more tokens.
    expect(withSystem).toBeGreaterThan(first + 10);
    expect(multiLine).toBeGreaterThan(withSystem + 6);
  });

  it("fails clearly for an unknown model and without a server", async () => {
    const unknown = await aixcl(["run", "nope", "hi"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^aixcl: model 'nope' not found/m);

    const home = await mkdtemp(join(tmpdir(), "aixcl-run-"));
    try {
      const port = await closedPort();
      const offline = await aixcl(["run", "hello", "hi"], cliEnv(home, { AIXCL_PORT: String(port) }));
      expect(offline.code).toBe(1);
      expect(offline.stderr).toBe(
        `aixcl: no aixcl server is running at http://127.0.0.1:${port} (start one with \`aixcl serve\`)\n`,
      );
      expect(offline.stdout).toBe("");
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("rejects an invalid model name with exit 2", async () => {
    const result = await aixcl(["run", "../x", "hi"], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/invalid model name/);
  });
});
