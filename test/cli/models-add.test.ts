import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelEntryWire } from "../../src/api/ollama/responses.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { startRegistry, type LoopbackRegistry } from "../support/registry.js";
import { HELLO_SCRIPT, helloModel } from "../support/scripted-models.js";
import { CHATML_TEMPLATE } from "../support/test-models.js";
import { cliEnv, closedPort, runCliWithInput as aixcl } from "./run-cli.js";

let registry: LoopbackRegistry;
let modelDigest: string;

beforeAll(async () => {
  registry = await startRegistry({ auth: true });
  const bytes = await registry.addModel("library/hello", "latest", [
    { mediaType: "application/vnd.ollama.image.model", data: { path: await helloModel() } },
    { mediaType: "application/vnd.ollama.image.template", data: Buffer.from(CHATML_TEMPLATE) },
  ]);
  modelDigest = (JSON.parse(bytes.toString()) as { layers: { digest: string }[] }).layers[0]?.digest ?? "";
});
afterAll(async () => {
  await registry?.close();
});

/** Plain-line progress (stderr is a pipe): manifest, the model layer up to 100 %, success. */
function expectPlainProgress(stderr: string): void {
  const lines = stderr.trimEnd().split("\n");
  expect(lines[0]).toBe("pulling manifest");
  const layer = lines.filter((l) => l.startsWith(`pulling ${modelDigest.slice(7, 19)}: `));
  expect(layer.at(-1)).toMatch(/: 100% \(\d+(\.\d)? KB\/\d+(\.\d)? KB, /);
  expect(lines.at(-1)).toBe("success");
}

describe("aixcl models add", () => {
  it("pulls through a running server's /api/pull; the server then chats with the model", async () => {
    const platform: TestPlatform = await startTestPlatform({
      flags: { "registry.allow_private": [registry.host, registry.cdnHost], "engine.threads": 1 },
    });
    try {
      const name = `${registry.host}/library/hello:latest`;
      const env = cliEnv(platform.home, { AIXCL_PORT: String(platform.port) });
      const result = await aixcl(["models", "add", "--insecure", name], env);
      expect(result.code).toBe(0);
      expectPlainProgress(result.stderr);
      const ollama = new Ollama({ host: platform.url });
      expect((await ollama.list()).models.map((m) => m.name)).toEqual([name]);
      const reply = await ollama.chat({ model: name, messages: [{ role: "user", content: "hi" }] });
      expect(reply.message.content).toBe(HELLO_SCRIPT.join(""));
    } finally {
      await platform.close();
    }
  });

  it("pulls into the store directly when no server runs; without --insecure it refuses plain http", async () => {
    const home = await mkdtemp(join(tmpdir(), "aixcl-add-"));
    try {
      await writeFile(
        join(home, "config.yaml"),
        `registry:\n  allow_private: ["${registry.host}", "${registry.cdnHost}"]\n`,
      );
      const port = await closedPort();
      const env = cliEnv(home, { AIXCL_PORT: String(port) });
      const name = `${registry.host}/library/hello:latest`;

      const refused = await aixcl(["models", "add", name], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/^aixcl: /m);
      expect(JSON.parse((await aixcl(["models", "list", "--json"], env)).stdout)).toEqual([]);

      const pulled = await aixcl(["models", "add", "--insecure", name], env);
      expect(pulled.code).toBe(0);
      expectPlainProgress(pulled.stderr);
      const listed = JSON.parse((await aixcl(["models", "list", "--json"], env)).stdout) as ModelEntryWire[];
      expect(listed.map((m) => m.name)).toEqual([name]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
