import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Template } from "@huggingface/jinja";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readGgufInfo } from "../src/models/gguf/reader.js";
import {
  TEST_MODELS_DIR,
  benchModel,
  installModel,
  scriptedModel,
  tinyModel,
} from "./support/test-models.js";

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, "..");

interface Job {
  modelPath: string;
  prompt: string;
  temperature: number;
  seed?: number;
  maxTokens: number;
}
interface Result {
  text: string;
  stopReason: string;
}

// llama.cpp runs in a child process: a model it cannot take aborts that process, not the test worker.
// One compute thread: llama.cpp's threads spin while they wait for each other, and two cost this
// child 3.2 s of CPU where one costs 1.2 s, taken from the other test file on the 2 shared cores.
const CHILD = `
import { getLlama, LlamaCompletion } from "node-llama-cpp";
const jobs = JSON.parse(process.argv[2]);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const results = [];
for (const job of jobs) {
  const model = await llama.loadModel({ modelPath: job.modelPath });
  const context = await model.createContext({ contextSize: 1024, threads: 1 });
  const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
  const tokens = model.tokenize(job.prompt, true);
  const res = await completion.generateCompletionWithMeta(tokens, {
    maxTokens: job.maxTokens, temperature: job.temperature, seed: job.seed,
  });
  results.push({ text: res.response, stopReason: res.metadata.stopReason });
  await context.dispose();
  await model.dispose();
}
await llama.dispose();
process.stdout.write(JSON.stringify(results));
`;

async function generate(jobs: Job[]): Promise<Result[]> {
  // A file inside the repo (not `node -e`): node-llama-cpp forks process.execArgv to probe its
  // binary, and the script must resolve node_modules from here.
  const script = join(TEST_MODELS_DIR, `generate-${process.pid}.mjs`);
  await writeFile(script, CHILD);
  try {
    const { stdout } = await run(process.execPath, [script, JSON.stringify(jobs)], {
      cwd: REPO,
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(stdout) as Result[];
  } finally {
    await rm(script, { force: true });
  }
}

/** Renders the model's own chat template, as the server will. */
async function render(
  modelPath: string,
  messages: { role: string; content: string }[],
  extra = {},
): Promise<string> {
  const info = await readGgufInfo(modelPath);
  const template = info.metadata["tokenizer.chat_template"];
  if (typeof template !== "string") throw new Error("model has no chat template");
  return new Template(template).render({ messages, add_generation_prompt: true, ...extra });
}

const HERMES_TEMPLATE =
  "{%- if tools %}<|im_start|>system\nYou may call functions.\n<tools>{% for tool in tools %}\n{{ tool | tojson }}{% endfor %}\n</tools>\n" +
  'Return calls as <tool_call>\n{"name": <name>, "arguments": <args>}\n</tool_call><|im_end|>\n{% endif %}' +
  "{% for message in messages %}<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n{% endfor %}" +
  "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

const TOOL_SCRIPT = [
  "<tool_call>\n",
  '{"name": "get_weather", "arguments": {"city": "Paris"}}',
  "\n</tool_call>",
];
const LONG_SCRIPT = Array.from({ length: 100 }, (_, i) => ` w${i}`);
const USER = [{ role: "user", content: "Hi there! What's the weather like in Paris today?" }];

describe("scripted models under real llama.cpp", () => {
  let results: Result[];
  let paths: { hello: string; tool: string; json: string; long: string; tiny: string };

  beforeAll(async () => {
    paths = {
      hello: await scriptedModel("hello", ["Hello", " world", "!"]),
      tool: await scriptedModel("tool-call", TOOL_SCRIPT, { chatTemplate: HERMES_TEMPLATE }),
      json: await scriptedModel("json", ['{"city": "Paris"}']),
      long: await scriptedModel("long", LONG_SCRIPT),
      tiny: await tinyModel(),
    };
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object" } } }];
    const helloPrompt = await render(paths.hello, USER);
    const toolPrompt = await render(paths.tool, USER, { tools });
    expect(toolPrompt).toContain("<tools>");
    results = await generate([
      { modelPath: paths.hello, prompt: helloPrompt, temperature: 0, maxTokens: 20 },
      { modelPath: paths.hello, prompt: helloPrompt, temperature: 0.8, seed: 7, maxTokens: 20 },
      {
        modelPath: paths.hello,
        prompt: "<|im_start|>user\nsomething else entirely",
        temperature: 0.8,
        seed: 99,
        maxTokens: 20,
      },
      { modelPath: paths.tool, prompt: toolPrompt, temperature: 0, maxTokens: 20 },
      { modelPath: paths.tool, prompt: toolPrompt, temperature: 0.8, seed: 3, maxTokens: 20 },
      { modelPath: paths.json, prompt: await render(paths.json, USER), temperature: 0, maxTokens: 20 },
      {
        modelPath: paths.long,
        prompt: await render(paths.long, USER),
        temperature: 0.8,
        seed: 1,
        maxTokens: 200,
      },
      { modelPath: paths.long, prompt: await render(paths.long, USER), temperature: 0, maxTokens: 10 },
      { modelPath: paths.tiny, prompt: await render(paths.tiny, USER), temperature: 0, maxTokens: 24 },
    ]);
  });

  it("emits exactly the script, then end of turn, greedy and sampled, for any prompt", () => {
    for (const r of results.slice(0, 3)) expect(r).toEqual({ text: "Hello world!", stopReason: "eogToken" });
  });

  it("emits a Hermes tool call through a tools-aware template", () => {
    expect(results[3]).toEqual({ text: TOOL_SCRIPT.join(""), stopReason: "eogToken" });
    expect(results[4]).toEqual({ text: TOOL_SCRIPT.join(""), stopReason: "eogToken" });
  });

  it("emits a JSON script and a long script; a token limit cuts the script short", () => {
    expect(results[5]).toEqual({ text: '{"city": "Paris"}', stopReason: "eogToken" });
    expect(results[6]).toEqual({ text: LONG_SCRIPT.join(""), stopReason: "eogToken" });
    expect(results[7]).toEqual({ text: LONG_SCRIPT.slice(0, 10).join(""), stopReason: "maxTokens" });
  });

  it("tiny model generates printable gibberish up to the token limit", () => {
    const tiny = results[8];
    expect(tiny?.stopReason).toBe("maxTokens");
    expect(tiny?.text.length).toBeGreaterThanOrEqual(24);
    expect(tiny?.text).toMatch(/^[\x20-\x7e]+$/);
  });

  it("stores the spec in the header: ChatML template, eos <|im_end|>, scripted pieces as vocabulary", async () => {
    const info = await readGgufInfo(paths.hello);
    const tokens = info.metadata["tokenizer.ggml.tokens"] as string[];
    expect(tokens[info.metadata["tokenizer.ggml.eos_token_id"] as number]).toBe("<|im_end|>");
    expect(tokens).toContain("\u2581world");
    expect(info.metadata["tokenizer.chat_template"]).toContain("<|im_start|>");
    expect(info.metadata["llama.embedding_length"]).toBe(64);
    expect((await readGgufInfo(paths.long)).metadata["llama.embedding_length"]).toBe(128);
  });
});

describe("model factories", () => {
  it("cache by spec: concurrent calls share one complete file, a different spec gets another", async () => {
    const script = ["alpha", " beta"];
    const paths = await Promise.all([1, 2, 3, 4].map(() => scriptedModel("cache-check", script)));
    expect(new Set(paths).size).toBe(1);
    expect(paths[0]?.startsWith(TEST_MODELS_DIR)).toBe(true);
    const other = await scriptedModel("cache-check", ["alpha", " gamma"]);
    expect(other).not.toBe(paths[0]);
    await expect(readGgufInfo(paths[0] ?? "")).resolves.toMatchObject({ architecture: "llama" });
    // Other workers may be mid-write; only this process's temp files must be gone.
    const mine = (await readdir(TEST_MODELS_DIR)).filter(
      (f) => f.endsWith(`.${process.pid}.tmp`) || f.includes(`.${process.pid}.`),
    );
    expect(mine.filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("reject scripts llama.cpp could not follow", async () => {
    await expect(scriptedModel("dup", ["a", "a"])).rejects.toThrow(/distinct/);
    await expect(scriptedModel("special", ["<|im_end|>"])).rejects.toThrow(/special/);
    await expect(scriptedModel("empty", [""])).rejects.toThrow(/empty/);
  });

  it("bench model has the advertised shape", async () => {
    const info = await readGgufInfo(await benchModel());
    expect(info.metadata["llama.embedding_length"]).toBe(1024);
    expect(info.metadata["llama.block_count"]).toBe(12);
    expect((info.metadata["tokenizer.ggml.tokens"] as string[]).length).toBe(32000);
    expect(info.fileType).toBe(7);
    expect(info.parameterCount).toBeGreaterThan(200e6);
    expect(info.parameterCount).toBeLessThan(240e6);
  }, 120_000);
});

describe("installModel", () => {
  let store: string;
  beforeAll(async () => {
    store = await mkdtemp(join(tmpdir(), "aixcl-store-"));
  });
  afterAll(async () => {
    await rm(store, { recursive: true, force: true });
  });

  const sha = (data: Buffer) => `sha256:${createHash("sha256").update(data).digest("hex")}`;
  interface Layer {
    mediaType: string;
    digest: string;
    size: number;
  }
  const blob = (digest: string) => readFile(join(store, "blobs", digest.replace(":", "-")));

  it("writes an Ollama-layout manifest with content-addressed blobs for every layer", async () => {
    const gguf = await tinyModel();
    await installModel(store, "tiny", gguf, {
      template: "{{ .Prompt }}",
      system: "Be brief.",
      params: { stop: ["<|im_end|>"], temperature: 0.2 },
      license: "MIT",
    });
    const manifestPath = join(store, "manifests", "registry.ollama.ai", "library", "tiny", "latest");
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as {
      schemaVersion: number;
      mediaType: string;
      config: Layer;
      layers: Layer[];
    };
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(manifest.layers.map((l) => l.mediaType.split(".").pop())).toEqual([
      "model",
      "template",
      "system",
      "params",
      "license",
    ]);
    for (const layer of [...manifest.layers, manifest.config]) {
      const data = await blob(layer.digest);
      expect(sha(data)).toBe(layer.digest);
      expect(data.length).toBe(layer.size);
    }
    const [model, template, system, params] = manifest.layers;
    expect(sha(await readFile(gguf))).toBe(model?.digest);
    expect((await blob(template?.digest ?? "")).toString()).toBe("{{ .Prompt }}");
    expect((await blob(system?.digest ?? "")).toString()).toBe("Be brief.");
    expect(JSON.parse((await blob(params?.digest ?? "")).toString())).toEqual({
      stop: ["<|im_end|>"],
      temperature: 0.2,
    });
    expect(manifest.config.mediaType).toBe("application/vnd.docker.container.image.v1+json");
    const config = JSON.parse((await blob(manifest.config.digest)).toString()) as Record<string, unknown>;
    expect(config).toMatchObject({
      model_format: "gguf",
      model_family: "llama",
      file_type: "F16",
      model_type: "127.81K",
    });
  });

  it("places namespaced and host-qualified names and shares blobs between them", async () => {
    const gguf = await scriptedModel("hello", ["Hello", " world", "!"]);
    await installModel(store, "team/hello:v1", gguf);
    await installModel(store, "localhost:5000/team/hello:v2", gguf);
    await readFile(join(store, "manifests", "registry.ollama.ai", "team", "hello", "v1"));
    await readFile(join(store, "manifests", "localhost:5000", "team", "hello", "v2"));
    const blobs = (await readdir(join(store, "blobs"))).filter((b) => !b.endsWith(".tmp"));
    expect(blobs.every((b) => /^sha256-[0-9a-f]{64}$/.test(b))).toBe(true);
    await expect(installModel(store, "../escape", gguf)).rejects.toThrow(/bad model name/);
  });
});
