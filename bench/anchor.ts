/**
 * `npm run bench:anchor`: aixcl against llama.cpp's own `llama-server`, the engine both run on.
 * Not part of `npm test` or CI: the first run builds llama-server (minutes on 2 cores).
 *
 * - Build: llama.cpp from the source node-llama-cpp ships (node_modules/node-llama-cpp/llama/
 *   gitRelease.bundle), `-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON` (a native build dies with an
 *   illegal instruction on CPUs with AMX), and beside the binary the CPU kernel libraries
 *   node-llama-cpp ships (`libggml-cpu-<variant>.so`): llama.cpp loads the best variant for the
 *   CPU, the one aixcl's runners load, so both sides run the same kernels. Cached in
 *   AIXCL_ANCHOR_DIR (default node_modules/.cache/aixcl-anchor).
 * - Measure: the bench model (test/support benchModel()), the same threads and slots, streaming
 *   `/v1/completions` from the same client, rounds interleaved (the order alternates), medians:
 *   single-stream decode (1-slot servers), aggregate decode of `--streams` concurrent streams
 *   (servers with that many slots), prompt tokens/s (a ~600-token prompt), and the time to first
 *   token of a follow-up (a ~1,500-token chat plus a short question). Target: aixcl ÷ llama-server
 *   >= 1.0 on each (and <= 1.0 for the follow-up's time).
 *
 *   npm run bench:anchor [-- --rounds 3 --threads 2 --streams 4 --decode-tokens 128]
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { benchModel, installModel } from "../test/support/test-models.js";
import { median, ratio, table } from "./report.js";
import { bodyLines, startServer } from "./server.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NLC = join(ROOT, "node_modules", "node-llama-cpp");
const DIR = process.env.AIXCL_ANCHOR_DIR ?? join(ROOT, "node_modules", ".cache", "aixcl-anchor");
const MODEL = "bench:latest";
const run = promisify(execFile);

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    threads: { type: "string" },
    streams: { type: "string", default: "4" },
    "decode-tokens": { type: "string", default: "128" },
    "build-only": { type: "boolean", default: false },
  },
});
const rounds = Number(args.rounds);
const threads = args.threads === undefined ? availableParallelism() : Number(args.threads);
const streams = Number(args.streams);
const decodeTokens = Number(args["decode-tokens"]);
const CONTEXT = 4096;

async function step(command: string, argv: string[], cwd?: string): Promise<void> {
  console.log(`$ ${command} ${argv.join(" ")}`);
  await run(command, argv, { cwd, maxBuffer: 64 * 1024 * 1024 });
}

/** The llama-server binary, built once from node-llama-cpp's llama.cpp source. */
async function buildServer(): Promise<string> {
  const build = join(DIR, "build");
  const bin = join(build, "bin", "llama-server");
  if (!existsSync(bin)) {
    const src = join(DIR, "src");
    await mkdir(DIR, { recursive: true });
    if (!existsSync(src))
      await step("git", ["clone", "--quiet", join(NLC, "llama", "gitRelease.bundle"), src]);
    await step("cmake", [
      ...["-S", src, "-B", build, "-DCMAKE_BUILD_TYPE=Release"],
      ...["-DGGML_NATIVE=OFF", "-DGGML_BACKEND_DL=ON", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_CURL=OFF"],
      ...["-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DLLAMA_BUILD_SERVER=ON"],
    ]);
    await step("cmake", ["--build", build, "--target", "llama-server", "-j", String(availableParallelism())]);
  }
  // node-llama-cpp's CPU kernels beside the binary (GGML_BACKEND_DL picks the best for this CPU).
  const bins = join(ROOT, "node_modules", "@node-llama-cpp", "linux-x64", "bins");
  for (const folder of await readdir(bins)) {
    for (const file of await readdir(join(bins, folder)).catch(() => [] as string[])) {
      if (/^libggml-cpu-[\w-]+\.so$/.test(file))
        await copyFile(join(bins, folder, file), join(build, "bin", file));
    }
  }
  return bin;
}

interface Server {
  name: string;
  url: string;
  stop(): Promise<void>;
}

async function startLlamaServer(bin: string, gguf: string, slots: number): Promise<Server> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child: ChildProcess = spawn(
    bin,
    [
      ...["-m", gguf, "--host", "127.0.0.1", "--port", String(port)],
      ...["-t", String(threads), "-tb", String(threads), "-np", String(slots)],
      // llama-server's -c is the whole context, split across its slots.
      ...["-c", String(CONTEXT * slots), "--no-webui"],
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`llama-server exited (${child.exitCode}):\n${stderr}`);
    const health = await fetch(`${url}/health`).catch(() => undefined);
    if (health?.ok) {
      return {
        name: "llama-server",
        url,
        stop: async () => {
          child.kill("SIGTERM");
          await new Promise((resolve) => child.once("exit", resolve));
        },
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`llama-server did not become healthy:\n${stderr}`);
}

async function startAixcl(home: string, slots: number): Promise<Server> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("AIXCL_")) env[key] = value;
  const started = await startServer(
    ROOT,
    [
      ...["--home", home, "--port", "0", "--profile", "core"],
      ...["--num-parallel", String(slots), "--threads", String(threads)],
      ...["--context-length", String(CONTEXT), "--keep-alive", "-1", "--log-level", "warn"],
    ],
    { ...env, AIXCL_HOME: home },
  );
  return { name: "aixcl", url: started.url, stop: () => started.stop() };
}

interface Completion {
  promptTokens: number;
  completionTokens: number;
  /** ms from the request to the first text, and from the first to the last text. */
  ttftMs: number;
  decodeMs: number;
  endAt: number;
}

/**
 * The sampling aixcl applies where a request leaves it unset: Ollama's defaults (a repeat penalty
 * of 1.1 over the last 64 tokens, src/engine/runner/generate.ts), which an OpenAI client of
 * Ollama gets too. llama-server's default penalty is 1.0 (none): it is asked for the same, so
 * both sides sample the same way and the same work is timed.
 */
const LLAMA_SERVER_SAMPLING = { repeat_penalty: 1.1, repeat_last_n: 64 };

/** One streaming `/v1/completions`, greedy, as an OpenAI client sends it. */
async function complete(server: Server, prompt: string, maxTokens: number): Promise<Completion> {
  const sentAt = performance.now();
  const response = await fetch(`${server.url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: MODEL,
      prompt,
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      ...(server.name === "llama-server" ? LLAMA_SERVER_SAMPLING : {}),
    }),
  });
  if (!response.ok || !response.body)
    throw new Error(`${server.name}: ${response.status} ${await response.text()}`);
  let first = NaN;
  let last = NaN;
  let chunks = 0;
  let usage: { prompt_tokens?: number; completion_tokens?: number } | undefined;
  for await (const line of bodyLines(response.body)) {
    if (!line.startsWith("data:") || line === "data: [DONE]") continue;
    const chunk = JSON.parse(line.slice(5)) as {
      choices?: { text?: string }[];
      usage?: { prompt_tokens?: number; completion_tokens?: number };
    };
    if (chunk.usage) usage = chunk.usage;
    if (chunk.choices?.[0]?.text) {
      const now = performance.now();
      if (Number.isNaN(first)) first = now;
      last = now;
      chunks++;
    }
  }
  return {
    promptTokens: usage?.prompt_tokens ?? NaN,
    completionTokens: usage?.completion_tokens ?? chunks,
    ttftMs: first - sentAt,
    decodeMs: last - first,
    endAt: last,
  };
}

const WORDS = (
  "the of and to in is that for it as was with on be by at this from or an are which have not but had " +
  "model server token prompt cache batch thread memory engine stream answer question context layer " +
  "garden river window music paper stone light table north summer winter market letter number story"
).split(" ");

/**
 * Text of `tokens` tokens of the bench model's vocabulary, different for each `seed`: words
 * tokenized by llama-server and cut at `tokens`, so it tokenizes back to that count (random token
 * ids do not: their text re-tokenized into ~6x as many).
 */
async function promptText(anchor: Server, seed: number, tokens: number): Promise<string> {
  const words = Array.from({ length: tokens }, (_, i) => WORDS[(seed * 7919 + i * 104_729) % WORDS.length]);
  const tokenized = (await anchorPost(`${anchor.url}/tokenize`, {
    content: `${seed}: ${words.join(" ")}`,
  })) as { tokens: number[] };
  const ids = tokenized.tokens.slice(0, tokens);
  return ((await anchorPost(`${anchor.url}/detokenize`, { tokens: ids })) as { content: string }).content;
}

/**
 * A JSON POST to llama-server, sent once more when the connection it went on was closed by the
 * server (it ends idle keep-alive connections, and fetch may pick one just then: "other side
 * closed", which stopped whole runs).
 */
async function anchorPost(url: string, body: unknown): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await fetch(url, { method: "POST", body: JSON.stringify(body) });
      return await response.json();
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (attempt > 1 || code !== "UND_ERR_SOCKET") throw error;
    }
  }
}

const tps = (tokens: number, ms: number) => (tokens - 1) / (ms / 1000);

async function main(): Promise<void> {
  const bin = await buildServer();
  if (args["build-only"]) {
    console.log(`built ${bin}`);
    return;
  }
  const load = loadavg()[0] ?? 0;
  console.log(
    `aixcl vs llama-server: ${rounds} rounds, ${threads} threads, ${streams} streams (load ${load.toFixed(2)})`,
  );
  const gguf = await benchModel();
  const home = await mkdtemp(join(tmpdir(), "aixcl-anchor-"));
  await installModel(join(home, "models"), MODEL, gguf);
  const servers: Server[] = [];
  try {
    const single = [await startAixcl(home, 1), await startLlamaServer(bin, gguf, 1)] as const;
    const multi = [await startAixcl(home, streams), await startLlamaServer(bin, gguf, streams)] as const;
    servers.push(...single, ...multi);
    const anchor = single[1];
    for (const server of servers) await complete(server, await promptText(anchor, 0, 16), 8);

    const rows = new Map<string, number[]>();
    const add = (label: string, value: number) => rows.set(label, [...(rows.get(label) ?? []), value]);
    for (let round = 0; round < rounds; round++) {
      // The order alternates, so neither side always runs first (warmer caches, a quieter moment).
      const order = (pair: readonly [Server, Server]) =>
        round % 2 === 0 ? pair : ([pair[1], pair[0]] as const);
      for (const server of order(single)) {
        const decode = await complete(server, await promptText(anchor, 100 + round, 16), decodeTokens);
        add(`${server.name} decode tok/s`, tps(decode.completionTokens, decode.decodeMs));
        const prompt = await complete(server, await promptText(anchor, 200 + round, 600), 1);
        add(`${server.name} prompt tok/s`, prompt.promptTokens / (prompt.ttftMs / 1000));
        // A chat's next turn: the same ~1,500-token history, then a short new question.
        const history = await promptText(anchor, 300 + round, 1500);
        await complete(server, history, 16);
        const followUp = await complete(server, `${history} ${await promptText(anchor, 400 + round, 20)}`, 1);
        add(`${server.name} follow-up TTFT ms`, followUp.ttftMs);
      }
      for (const server of order(multi)) {
        const prompts = await Promise.all(
          Array.from({ length: streams }, (_, i) => promptText(anchor, 500 + round * streams + i, 16)),
        );
        const sentAt = performance.now();
        const results = await Promise.all(prompts.map((prompt) => complete(server, prompt, decodeTokens)));
        const tokens = results.reduce((sum, r) => sum + r.completionTokens, 0);
        add(
          `${server.name} ${streams}-stream tok/s`,
          tokens / ((Math.max(...results.map((r) => r.endAt)) - sentAt) / 1000),
        );
      }
    }
    console.log(
      table(
        "figure",
        [...rows].map(([label, values]) => ({ label, values })),
      ),
    );
    const m = (label: string) => median(rows.get(label) ?? []);
    console.log(
      [
        ratio("decode aixcl/llama-server", m("aixcl decode tok/s"), m("llama-server decode tok/s")),
        ratio(
          `${streams}-stream aixcl/llama-server`,
          m(`aixcl ${streams}-stream tok/s`),
          m(`llama-server ${streams}-stream tok/s`),
        ),
        ratio("prompt aixcl/llama-server", m("aixcl prompt tok/s"), m("llama-server prompt tok/s")),
        ratio(
          "follow-up TTFT llama-server/aixcl",
          m("llama-server follow-up TTFT ms"),
          m("aixcl follow-up TTFT ms"),
        ),
        // Each server's own gain from concurrency (its N-slot aggregate over its 1-slot decode):
        // llama-server's says what batching the streams can give on this machine at all.
        ratio(
          `llama-server ${streams} streams/1 stream`,
          m(`llama-server ${streams}-stream tok/s`),
          m("llama-server decode tok/s"),
        ),
        ratio(
          `aixcl ${streams} streams/1 stream`,
          m(`aixcl ${streams}-stream tok/s`),
          m("aixcl decode tok/s"),
        ),
      ].join("\n"),
    );
  } finally {
    for (const server of servers) await server.stop().catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  }
}

await main();
