/**
 * The benchmark's baseline: node-llama-cpp in-process, no HTTP, no runner, no scheduler — the
 * fastest this library goes on this machine. Run as a child of bench/engine.ts with
 * UV_THREADPOOL_SIZE=1 in its environment (docs/engine.md: without it 2-thread decode halves).
 * Driven over the IPC channel so the model loads once and rounds interleave with the server's.
 */
import {
  getLlama,
  LlamaLogLevel,
  type LlamaContext,
  type LlamaContextSequence,
  type Token,
} from "node-llama-cpp";
import { DecodeBatching } from "../src/engine/runner/batching.js";
import { kvCacheOptions } from "../src/engine/runner/load-model.js";
import type { BaselineReply, BaselineRequest } from "./protocol.js";

const [modelPath, threadsArg, contextArg] = process.argv.slice(2);
if (modelPath === undefined || process.send === undefined) {
  throw new Error("usage: fork bench/baseline.ts <model.gguf> <threads> <context> (with an IPC channel)");
}
const threads = Number(threadsArg);
const contextSize = Number(contextArg);

/** The size llama.cpp gave its last KV cache, MiB (its "llama_kv_cache: size = …" info line). */
let kvCacheAllocatedMib: number | undefined;
const llama = await getLlama({
  gpu: false,
  build: "never",
  maxThreads: threads,
  logLevel: LlamaLogLevel.info,
  logger(level, message) {
    const size = /llama_kv_cache: size =\s*([\d.]+) MiB/.exec(message);
    if (size) kvCacheAllocatedMib = Number(size[1]);
    else if ([LlamaLogLevel.fatal, LlamaLogLevel.error, LlamaLogLevel.warn].includes(level))
      console.warn(message);
  },
});
const model = await llama.loadModel({ modelPath });
// Flash attention as aixcl's runners load by default (engine.flash_attention auto; llama.cpp
// enables it on CPU): node-llama-cpp's own default is off, which decodes the bench model ~10 %
// slower here and made the baseline look as slow as aixcl over HTTP.
const context = await model.createContext({ contextSize, sequences: 1, threads, flashAttention: "auto" });
const sequence = context.getSequence();

function send(reply: BaselineReply): void {
  process.send?.(reply);
}

/**
 * A text of exactly `tokens` tokens, different for each round (a leading marker) so no prefix
 * cache anywhere can skip prompt work. The server is sent the same text.
 */
function promptText(round: number, tokens: number): string {
  const words: string[] = [`round${round}`];
  for (let i = 0; words.length < tokens * 2; i++) words.push(`w${(i * 7919 + round) % 1000}`);
  const ids = model.tokenize(words.join(" ")).slice(0, tokens);
  return model.detokenize(ids);
}

/**
 * Takes `count` tokens of a greedy decode: evaluate() does not stop at end-of-generation tokens,
 * so every round decodes exactly `count` steps (one decode per yielded token).
 */
async function countTokens(tokens: AsyncIterable<Token>, count: number): Promise<number> {
  let produced = 0;
  for await (const _token of tokens) {
    produced += 1;
    if (produced >= count) break;
  }
  return produced;
}

async function measure(prompt: string, decodeTokens: number): Promise<BaselineReply> {
  await sequence.clearHistory();
  const ids = model.tokenize(prompt);
  const promptStart = performance.now();
  await sequence.evaluateWithoutGeneratingNewTokens(ids);
  const promptMs = performance.now() - promptStart;

  const last = ids[ids.length - 1] as Token;
  const decodeStart = performance.now();
  const produced = await countTokens(sequence.evaluate([last], { temperature: 0 }), decodeTokens);
  const decodeMs = performance.now() - decodeStart;
  return {
    type: "measured",
    promptTokens: ids.length,
    promptTps: ids.length / (promptMs / 1000),
    decodeTokens: produced,
    decodeTps: produced / (decodeMs / 1000),
  };
}

/**
 * The concurrency phase's baseline: a context with one sequence per stream, decoding in lockstep
 * as aixcl's runners do (src/engine/runner/batching.ts), so each step is one llama_decode for all
 * streams. Its N streams / 1 stream ratio is what llama.cpp's batched decode itself gives on this
 * machine, before any IPC or HTTP.
 */
let concurrentContext: { context: LlamaContext; batching: DecodeBatching } | undefined;

async function decodeOne(
  batching: DecodeBatching,
  sequence: LlamaContextSequence,
  prompt: string,
  decodeTokens: number,
): Promise<{ tokens: number; endAt: number }> {
  await sequence.clearHistory();
  const ids = model.tokenize(prompt);
  await sequence.evaluateWithoutGeneratingNewTokens(ids.slice(0, -1));
  const last = ids[ids.length - 1] as Token;
  const tokens = await countTokens(
    batching.lockstep(sequence.evaluate([last], { temperature: 0 })),
    decodeTokens,
  );
  return { tokens, endAt: performance.now() };
}

async function measureConcurrent(prompts: string[], decodeTokens: number): Promise<BaselineReply> {
  if (concurrentContext === undefined) {
    const batching = new DecodeBatching();
    const context = await model.createContext({
      contextSize,
      sequences: prompts.length,
      threads,
      flashAttention: "auto",
      batching: { itemPrioritizationStrategy: batching.strategy },
    });
    batching.attach(context);
    concurrentContext = { context, batching };
  }
  const { context, batching } = concurrentContext;
  const sequences = prompts.map(() => context.getSequence());
  try {
    // As the server's figure is timed (bench/engine.ts concurrent()): all generated tokens over
    // the time from the start to the last token, the short prompts' evaluation included.
    const aggregate = async (count: number): Promise<number> => {
      const startedAt = performance.now();
      const results = await Promise.all(
        prompts.slice(0, count).map((prompt, i) => decodeOne(batching, sequences[i]!, prompt, decodeTokens)),
      );
      const tokens = results.reduce((sum, r) => sum + r.tokens, 0);
      return tokens / ((Math.max(...results.map((r) => r.endAt)) - startedAt) / 1000);
    };
    const oneTps = await aggregate(1);
    const manyTps = await aggregate(prompts.length);
    return { type: "concurrent", oneTps, manyTps };
  } finally {
    for (const sequence of sequences) await sequence.dispose();
  }
}

/**
 * The KV cache of a one-sequence context of the model's trained length, created with a runner's
 * KV cache options: the size llama.cpp allocated for it, and the growth of this process's
 * resident memory meanwhile (llama.cpp zeroes the cache as it allocates it, so its pages are
 * resident at once). The allocation is the figure; the growth is a cross-check, which the
 * allocator can skew by handing out memory an earlier context freed (one round read 87 MiB for a
 * 102 MiB cache).
 */
async function kvMemory(kvCacheType: "f16" | "q8_0"): Promise<BaselineReply> {
  const cells = model.trainContextSize;
  kvCacheAllocatedMib = undefined;
  const before = process.memoryUsage.rss();
  const measured = await model.createContext({
    contextSize: cells,
    sequences: 1,
    threads,
    flashAttention: "auto",
    ...kvCacheOptions(kvCacheType),
  });
  const grown = process.memoryUsage.rss() - before;
  await measured.dispose();
  if (kvCacheAllocatedMib === undefined) throw new Error("llama.cpp did not log its KV cache size");
  return { type: "kv-memory", cells, allocatedMib: kvCacheAllocatedMib, residentMib: grown / 2 ** 20 };
}

process.on("message", (message: BaselineRequest) => {
  const run = async (): Promise<BaselineReply> => {
    switch (message.type) {
      case "prompt":
        return { type: "prompt", text: promptText(message.round, message.tokens) };
      case "measure":
        return measure(message.prompt, message.decodeTokens);
      case "concurrent":
        return measureConcurrent(message.prompts, message.decodeTokens);
      case "kv-memory":
        return kvMemory(message.kvCacheType);
      case "exit":
        await concurrentContext?.context.dispose();
        await context.dispose();
        await model.dispose();
        await llama.dispose();
        return { type: "bye" };
    }
  };
  run().then(
    (reply) => {
      send(reply);
      // Closing the channel lets the process end on its own once llama.cpp is released.
      if (reply.type === "bye") process.disconnect?.();
    },
    (error: unknown) => send({ type: "error", message: String(error) }),
  );
});

send({ type: "ready", threads, contextSize });
