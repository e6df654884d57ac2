import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { startRegistry } from "../support/registry.js";
import { helloModel } from "../support/scripted-models.js";
import { CHATML_TEMPLATE } from "../support/test-models.js";
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

  it("pulls a model that is not installed, then answers; a model no registry has fails clearly", async () => {
    const registry = await startRegistry();
    onTestFinished(() => registry.close());
    await registry.addModel("library/fresh", "latest", [
      { mediaType: "application/vnd.ollama.image.model", data: { path: await helloModel() } },
      { mediaType: "application/vnd.ollama.image.template", data: Buffer.from(CHATML_TEMPLATE) },
    ]);
    const hosts = [registry.host, registry.cdnHost];
    const pulling = await startTestPlatform({
      flags: { "engine.threads": 1, "registry.insecure": hosts, "registry.allow_private": hosts },
    });
    onTestFinished(() => pulling.close());
    const pullEnv = cliEnv(pulling.home, { AIXCL_PORT: String(pulling.port) });

    const result = await aixcl(["run", `${registry.host}/library/fresh`, "hi"], pullEnv);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Hello world!\n");
    expect(result.stderr).toContain("pulling manifest");
    expect(result.stderr).toContain("success");
    // Installed now: a second run does not pull again.
    const again = await aixcl(["run", `${registry.host}/library/fresh`, "hi"], pullEnv);
    expect(again.stderr).toBe("");

    const unknown = await aixcl(["run", `${registry.host}/library/nope`, "hi"], pullEnv);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^aixcl: pull model manifest: file does not exist/m);
    expect(unknown.stdout).toBe("");
  });

  it("fails clearly without a server", async () => {
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
