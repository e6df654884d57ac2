import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ModelEntryWire, RunningModelWire } from "../../src/api/ollama/responses.js";
import type { ShowInfo } from "../../src/models/show-info.js";
import { startTestPlatform, type TestPlatform } from "../support/platform.js";
import { helloModel, uploadModel } from "../support/scripted-models.js";
import {
  cliEnv,
  closedPort,
  runCliWithInput as aixcl,
  startHelloPlatform,
  type CliResult,
} from "./run-cli.js";

const json = <T>(result: CliResult): T => {
  expect(result.stderr).not.toMatch(/aixcl:/);
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
};

describe("aixcl models without a server (on the store directly)", () => {
  let home: string;
  let env: NodeJS.ProcessEnv;
  let gguf: string;
  const run = (...args: string[]) => aixcl(["models", ...args], env);

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), "aixcl-models-"));
    env = cliEnv(home, { AIXCL_PORT: String(await closedPort()) });
    gguf = await helloModel();
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  it("rejects invalid names with exit 2 before touching the store", async () => {
    for (const args of [
      ["rm", "../x"],
      ["show", "--", "--insecure"],
      ["add", "a:"],
      ["cp", "ok", "../../etc"],
      ["import", gguf, "--name", "../x"],
      ["add", "--insecure"],
    ]) {
      const result = await run(...args);
      expect(result.code, args.join(" ")).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(/invalid model name|missing required argument/);
    }
    expect(existsSync(join(home, "models"))).toBe(false);
  });

  it("refuses a truncated GGUF with the reader's error and lists nothing", async () => {
    const bytes = await readFile(gguf);
    const truncated = join(home, "truncated.gguf");
    await writeFile(truncated, bytes.subarray(0, 5000));
    const result = await run("import", truncated, "--name", "broken");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^aixcl: invalid GGUF: truncated/m);
    expect(json<ModelEntryWire[]>(await run("list", "--json"))).toEqual([]);
  });

  it("imports a GGUF, lists, shows, copies and removes it", async () => {
    const imported = await run("import", gguf, "--name", "my-model");
    expect(imported.stderr).toContain("success");
    expect(imported.code).toBe(0);

    const listed = json<ModelEntryWire[]>(await run("list", "--json"));
    expect(listed.map((m) => m.name)).toEqual(["my-model:latest"]);
    expect(listed[0]?.details).toMatchObject({ format: "gguf", family: "llama", quantization_level: "F32" });
    expect((await run("list")).stdout).toMatch(/^my-model:latest\s+[0-9a-f]{12}\s+\d+(\.\d)? KB\s+/m);

    const shown = json<ShowInfo>(await run("show", "my-model", "--json"));
    expect(shown.model_info["general.architecture"]).toBe("llama");
    expect(shown.model_info["llama.context_length"]).toBe(2048);
    expect(shown.capabilities).toEqual(["completion"]);
    expect(shown.template).toContain("<|im_start|>");
    const text = (await run("show", "my-model")).stdout;
    expect(text).toMatch(/architecture\s+llama/);
    expect(text).toMatch(/context length\s+2048/);
    expect(text).toMatch(/embedding length\s+64/);
    expect(text).toMatch(/quantization\s+F32/);
    expect(text).toMatch(/Capabilities\s+completion/);
    expect(text).toContain("Template");

    expect((await run("cp", "my-model", "team/copy:v1")).code).toBe(0);
    expect(json<ModelEntryWire[]>(await run("list", "--json")).map((m) => m.name)).toEqual(
      expect.arrayContaining(["my-model:latest", "team/copy:v1"]),
    );
    expect((await run("rm", "my-model")).code).toBe(0);
    expect(json<ModelEntryWire[]>(await run("list", "--json")).map((m) => m.name)).toEqual(["team/copy:v1"]);

    const missing = await run("show", "my-model");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/model 'my-model' not found/);
  });

  it("ps and stop need a server and say so", async () => {
    for (const args of [["ps"], ["stop", "team/copy:v1"]]) {
      const result = await run(...args);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/no aixcl server is running at http:\/\/127\.0\.0\.1:\d+/);
    }
  });
});

describe("aixcl models with a running server", () => {
  let platform: TestPlatform;
  let env: NodeJS.ProcessEnv;
  const run = (...args: string[]) => aixcl(["models", ...args], env);

  beforeAll(async () => {
    ({ platform, env } = await startHelloPlatform());
  });
  afterAll(async () => {
    await platform.close();
  });

  it("imports through the server (blob upload + create) and the server lists it", async () => {
    const imported = await run("import", await uploadModel(), "--name", "uploaded");
    expect(imported.code).toBe(0);
    expect(imported.stderr).toContain("success");
    const tags = await new Ollama({ host: platform.url }).list();
    expect(tags.models.map((m) => m.name).sort()).toEqual(["hello:latest", "uploaded:latest"]);
    expect(
      json<ModelEntryWire[]>(await run("list", "--json"))
        .map((m) => m.name)
        .sort(),
    ).toEqual(["hello:latest", "uploaded:latest"]);
    const chat = await new Ollama({ host: platform.url }).chat({
      model: "uploaded",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(chat.message.content).toBe("Uploaded");
  });

  it("ps shows a model after a generation and stop unloads it", async () => {
    const ollama = new Ollama({ host: platform.url });
    await ollama.generate({ model: "hello", prompt: "hi" });
    const loaded = json<RunningModelWire[]>(await run("ps", "--json"));
    expect(loaded.map((m) => m.name)).toContain("hello:latest");
    expect((await run("ps")).stdout).toMatch(/^hello:latest\s+[0-9a-f]{12}\s+.*(CPU|GPU)/m);

    const stopped = await run("stop", "hello");
    expect(stopped.code).toBe(0);
    expect(json<RunningModelWire[]>(await run("ps", "--json")).map((m) => m.name)).not.toContain(
      "hello:latest",
    );
    expect((await ollama.ps()).models.map((m) => m.name)).not.toContain("hello:latest");
  });

  it("show, cp and rm go through the server", async () => {
    const shown = json<ShowInfo>(await run("show", "hello", "--json"));
    expect(shown.details.family).toBe("llama");
    expect((await run("cp", "hello", "hello2")).code).toBe(0);
    expect((await new Ollama({ host: platform.url }).list()).models.map((m) => m.name)).toContain(
      "hello2:latest",
    );
    expect((await run("rm", "hello2")).code).toBe(0);
    expect((await new Ollama({ host: platform.url }).list()).models.map((m) => m.name)).not.toContain(
      "hello2:latest",
    );
    const missing = await run("rm", "nope");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
  });
});

describe("aixcl models against a server that requires an API key", () => {
  const KEY = "cli-test-key-0123456789abcdef";
  let platform: TestPlatform;

  beforeAll(async () => {
    platform = await startTestPlatform({ flags: { "auth.api": "required", "auth.api_key": KEY } });
  });
  afterAll(async () => {
    await platform.close();
  });

  it("sends the configured key; without it the server's 401 message is shown", async () => {
    const port = String(platform.port);
    const withKey = await aixcl(
      ["models", "list", "--json"],
      cliEnv(platform.home, { AIXCL_PORT: port, AIXCL_API_KEY: KEY }),
    );
    expect(json<ModelEntryWire[]>(withKey)).toEqual([]);

    // No key: the server answers (it is not "no server"), and its refusal is reported as such.
    const without = await aixcl(["models", "list"], cliEnv(platform.home, { AIXCL_PORT: port }));
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/^aixcl: /);
    expect(without.stderr).not.toMatch(/no aixcl server/);
  });
});
