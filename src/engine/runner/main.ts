/**
 * Runner child process entry: owns one llama.cpp model and its context, serves the parent over
 * IPC. It must be started with UV_THREADPOOL_SIZE=1 in its environment (docs/engine.md, Threads: with
 * Node's default pool of 4, llama.cpp's per-decode helper thread fights the computing thread and
 * 2-thread decode speed halves). A llama.cpp abort kills only this process; the parent notices.
 */
import { isAppError } from "../../errors.js";
import { Embedder } from "./embed.js";
import { generate } from "./generate.js";
import type { Generator } from "./generate.js";
import { createLlama, loadRunnerModel, scrubPaths } from "./load-model.js";
import type { RunnerModel } from "./load-model.js";
import type { ChildMessage, LoadSpec, ParentMessage } from "./protocol.js";
import { SequencePool } from "./sequences.js";
import { setUpSpeculation } from "./speculation.js";
import type { Speculation } from "./speculation.js";

interface State {
  runner: RunnerModel;
  generator: Generator;
  embedder: Embedder;
  speculation: Speculation | undefined;
}

let llama: ReturnType<typeof createLlama> | undefined;
let state: State | undefined;
let modelPath = "";
/** Ids of generations the parent cancelled; removed when the generation ends. */
const cancelled = new Set<number>();
const running = new Set<number>();

function send(message: ChildMessage): void {
  if (process.connected) process.send?.(message);
}

function errorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return scrubPaths(message, modelPath);
}

function fail(id: number, error: unknown): void {
  if (isAppError(error)) send({ type: "error", id, code: error.code, message: error.message });
  else send({ type: "error", id, code: "internal", message: errorMessage(error) });
}

async function load(spec: LoadSpec): Promise<void> {
  modelPath = spec.modelPath;
  try {
    llama ??= createLlama(spec.gpu, false);
    const { llama: loaded, binaryTest } = await llama;
    const runner = await loadRunnerModel(loaded, spec);
    let speculation: Speculation | undefined;
    try {
      speculation = await setUpSpeculation(runner.llama, spec, runner.context);
      const pool = new SequencePool(runner.context);
      state = {
        runner,
        generator: {
          llama: runner.llama,
          model: runner.model,
          pool,
          batching: runner.batching,
          contextSize: runner.info.contextLength,
          speculation,
        },
        embedder: new Embedder(runner.model, runner.info.contextLength, runner.threads),
        speculation,
      };
    } catch (error) {
      // The parent answers a failed load by stopping this runner; free the memory meanwhile.
      await speculation?.dispose();
      await runner.context.dispose();
      await runner.model.dispose();
      throw error;
    }
    send({ type: "loaded", info: { ...runner.info, binaryTest } });
  } catch (error) {
    send({ type: "load_error", message: errorMessage(error) });
  }
}

/**
 * Frees the model (the parent asks only when no request is running) so the process can load
 * another without paying llama.cpp's start-up again.
 */
async function reset(): Promise<void> {
  const current = state;
  state = undefined;
  modelPath = "";
  cancelled.clear();
  if (current) {
    await current.embedder.dispose();
    await current.runner.context.dispose();
    await current.speculation?.dispose();
    await current.runner.model.dispose();
  }
  send({ type: "reset" });
}

async function runGenerate(current: State, id: number, spec: Parameters<typeof generate>[1]): Promise<void> {
  running.add(id);
  try {
    const stats = await generate(current.generator, spec, {
      cancelled: () => cancelled.has(id),
      text: (s) => send({ type: "t", id, s }),
    });
    // A cancelled request's stream has ended in the parent; what it used still counts.
    if (cancelled.has(id)) send({ type: "usage", id, stats: stats ?? null });
    else if (stats) send({ type: "done", id, stats });
  } catch (error) {
    if (cancelled.has(id)) send({ type: "usage", id, stats: null });
    else fail(id, error);
  } finally {
    running.delete(id);
    cancelled.delete(id);
  }
}

async function runEmbed(current: State, id: number, input: string[], truncate: boolean): Promise<void> {
  try {
    const result = await current.embedder.embed(input, truncate);
    send({ type: "embedded", id, ...result });
  } catch (error) {
    fail(id, error);
  }
}

function onMessage(message: ParentMessage): void {
  switch (message.type) {
    case "init":
      llama ??= createLlama(message.gpu, message.binaryTested);
      // A failure is reported by the load that awaits it.
      llama.catch(() => undefined);
      return;
    case "load":
      void load(message.spec);
      return;
    case "reset":
      reset().catch((error: unknown) => {
        // A model that cannot be freed leaves the process unusable: the parent sees it exit.
        process.stderr.write(`reset failed: ${errorMessage(error)}\n`);
        process.exit(1);
      });
      return;
    case "shutdown":
      process.exit(0);
      return;
    case "cancel":
      // Only remembered while the generation runs, so the set cannot grow.
      if (running.has(message.id)) cancelled.add(message.id);
      return;
    case "generate":
    case "embed":
    case "tokenize":
      break;
  }
  const current = state;
  if (!current) {
    fail(message.id, new Error("model is not loaded"));
    return;
  }
  switch (message.type) {
    case "generate":
      void runGenerate(current, message.id, message.spec);
      return;
    case "embed":
      void runEmbed(current, message.id, message.input, message.truncate);
      return;
    case "tokenize":
      try {
        send({ type: "tokens", id: message.id, tokens: current.runner.model.tokenize(message.text, true) });
      } catch (error) {
        fail(message.id, error);
      }
      return;
  }
}

process.on("message", (message) => onMessage(message as ParentMessage));
// The parent is gone (crashed or killed): nobody can use this model any more.
process.on("disconnect", () => process.exit(0));
// Ctrl-C in a terminal signals the whole foreground process group, runners included. The server
// decides when runners stop (it drains streams first, then sends "shutdown" or disconnects), so a
// runner ignores these signals instead of dying mid-stream.
process.on("SIGINT", () => undefined);
process.on("SIGTERM", () => undefined);
