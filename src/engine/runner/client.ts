/**
 * Parent side of a runner: forks the child (no shell), routes its IPC messages to the requests
 * waiting for them, and turns an unexpected exit into `runner_crashed` for every request in
 * flight (or `model_load_failed` while loading).
 */
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { AppError } from "../../errors.js";
import { entryPoint, FROM_SOURCE } from "../../package-paths.js";
import type { Logger } from "../../logger.js";
import { runnerEnvironment } from "./child-env.js";
import type {
  ChildMessage,
  GenerateSpec,
  LoadedInfo,
  LoadSpec,
  ParentMessage,
  RunnerGenerateStats,
} from "./protocol.js";

/** Receives one generation's output. Exactly one of `done` / `fail` is called, once. */
export interface GenerateSink {
  text(text: string): void;
  done(stats: RunnerGenerateStats): void;
  fail(error: AppError): void;
  /** What a cancelled generation used before it stopped (after cancel(), instead of done). */
  usage(stats: RunnerGenerateStats): void;
}

type Pending =
  /** `cancelled`: cancel() was sent; kept until the runner's last word on it (usage). */
  | { kind: "generate"; sink: GenerateSink; cancelled?: boolean }
  | {
      kind: "embed";
      resolve: (r: { embeddings: number[][]; promptTokens: number }) => void;
      reject: (e: AppError) => void;
    }
  | { kind: "tokenize"; resolve: (tokens: number[]) => void; reject: (e: AppError) => void };

export interface RunnerProcessOptions {
  /** GPU mode for llama.cpp, loaded as soon as the process starts. */
  gpu: "auto" | false;
  logger: Logger;
  /** ms allowed for the load before the runner is killed. */
  loadTimeoutMs: number;
  /**
   * The runner's entry module, compiled JavaScript run by plain `node`. Default: `main.js` beside
   * this file when built, or `main.ts` through tsx when running from source.
   */
  entry?: string;
}

/** Lines of the child's stderr kept to explain a crash in the log. */
const STDERR_TAIL = 20;
/** Grace period after `shutdown` before the runner is killed. */
const STOP_GRACE_MS = 2_000;
/** Time a runner has to free its model on `reset` before it is stopped instead. */
const RESET_TIMEOUT_MS = 5_000;

/** The runner entry: TypeScript under tsx (dev), JavaScript when built. */
function runnerEntry(entry: string | undefined): { entry: string; execArgv: string[] } {
  if (entry !== undefined) return { entry, execArgv: [] };
  const tsx = () => pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  return { entry: entryPoint("engine/runner/main"), execArgv: FROM_SOURCE ? ["--import", tsx()] : [] };
}

/** What a runner is started with that a later owner cannot change: its entry and GPU mode. */
export function spawnKey(options: Pick<RunnerProcessOptions, "entry" | "gpu">): string {
  return JSON.stringify([options.entry ?? "", options.gpu]);
}

/**
 * Spawn keys of runners that loaded a model in this process: node-llama-cpp has test-loaded
 * their binary, and later runners with the same key skip that test (./binary-test.ts).
 */
const testedBinaries = new Set<string>();

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `killed by ${signal}` : `exit code ${code ?? "unknown"}`;
}

/**
 * One runner process. It starts loading llama.cpp at once; `load` gives it its model (so a spare
 * runner can be started before anyone knows which model it will serve).
 */
export class RunnerProcess {
  readonly pid: number;
  info: LoadedInfo | undefined;
  /** Called once when the process is gone; `crashed` = it was not asked to stop. */
  onExit: (crashed: boolean) => void = () => undefined;

  private readonly child: ChildProcess;
  private options: RunnerProcessOptions;
  private log: Logger;
  private settleReset: ((freed: boolean) => void) | undefined;
  private readonly pending = new Map<number, Pending>();
  private readonly stderrTail: string[] = [];
  private nextId = 1;
  private exited = false;
  private stopRequested = false;
  private stopPromise: Promise<void> | undefined;
  private readonly exitPromise: Promise<void>;
  private settleLoad: ((error?: AppError, info?: LoadedInfo) => void) | undefined;
  private loading: Promise<LoadedInfo> | undefined;

  constructor(options: RunnerProcessOptions) {
    this.options = options;
    const { entry, execArgv } = runnerEntry(options.entry);
    this.child = fork(entry, [], {
      execArgv,
      // One libuv thread: the runner's compute threads are llama.cpp's own, and a larger pool
      // competes with them for the cores.
      env: runnerEnvironment(process.env, { UV_THREADPOOL_SIZE: "1" }),
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      serialization: "json",
    });
    this.pid = this.child.pid ?? -1;
    this.log = options.logger.child({ runner: this.pid });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
        this.log.debug({ line }, "runner output");
      });
    }
    this.exitPromise = new Promise((resolve) => this.child.once("exit", () => resolve()));
    this.child.on("message", (message) => this.onMessage(message as ChildMessage));
    this.child.on("error", (error) => {
      this.log.warn({ err: error }, "runner process error");
      // A process that never started emits no "exit": settle everything here instead.
      if (this.child.pid === undefined && !this.exited) this.handleExit(null, null);
    });
    this.child.once("exit", (code, signal) => this.handleExit(code, signal));
    this.send({ type: "init", gpu: options.gpu, binaryTested: testedBinaries.has(this.spawnKey) });
  }

  /** Loads the model (once per runner). Rejects with `model_load_failed` (or `shutting_down`). */
  load(spec: LoadSpec): Promise<LoadedInfo> {
    if (this.loading) return this.loading;
    const timeoutMs = this.options.loadTimeoutMs;
    this.loading = new Promise<LoadedInfo>((resolve, reject) => {
      if (this.exited) {
        reject(new AppError("model_load_failed", "model runner exited before loading the model"));
        return;
      }
      const timer = setTimeout(() => {
        this.settleLoad?.(
          new AppError("model_load_failed", `loading the model timed out after ${timeoutMs / 1000}s`),
        );
        this.child.kill("SIGKILL");
      }, timeoutMs);
      this.settleLoad = (error, info) => {
        this.settleLoad = undefined;
        clearTimeout(timer);
        if (error) reject(error);
        else if (info) resolve(info);
      };
    });
    // Nobody may be awaiting it (a request that gave up): the rejection is still handled.
    this.loading.catch(() => undefined);
    this.send({ type: "load", spec });
    return this.loading;
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** The spawn settings a pooled runner must match to be reused (see RunnerPool). */
  get spawnKey(): string {
    return spawnKey(this.options);
  }

  /**
   * Asks the runner to free its model so it can load another (RunnerPool). Resolves false, and
   * the caller stops it, when requests are still in flight, it has exited, or it does not answer.
   */
  reset(): Promise<boolean> {
    if (this.exited || this.stopRequested || this.pending.size > 0 || this.settleLoad) {
      return Promise.resolve(false);
    }
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => this.settleReset?.(false), RESET_TIMEOUT_MS);
      this.settleReset = (freed) => {
        this.settleReset = undefined;
        clearTimeout(timer);
        if (freed) {
          this.info = undefined;
          this.loading = undefined;
        }
        resolve(freed);
      };
      this.send({ type: "reset" });
    });
  }

  /** Hands a pooled runner to a new owner: its logger and load timeout from now on. */
  adopt(options: Pick<RunnerProcessOptions, "logger" | "loadTimeoutMs">): this {
    this.options = { ...this.options, ...options };
    this.log = options.logger.child({ runner: this.pid });
    this.onExit = () => undefined;
    this.keepsParentAlive(true);
    return this;
  }

  /**
   * Whether this runner keeps the parent's event loop alive: an idle pooled runner must not keep
   * a process from exiting when its work is done (it exits with the parent's IPC channel).
   */
  keepsParentAlive(ref: boolean): void {
    // stdout and stderr are pipes: net.Socket at run time, typed as plain Readable.
    const pipes = [this.child.stdout, this.child.stderr] as unknown as ({
      ref(): void;
      unref(): void;
    } | null)[];
    for (const handle of [this.child, this.child.channel, ...pipes]) {
      if (ref) handle?.ref();
      else handle?.unref();
    }
  }

  /** Starts a generation; returns its id for `cancel`. */
  generate(spec: GenerateSpec, sink: GenerateSink): number {
    const id = this.nextId++;
    if (this.exited) {
      sink.fail(new AppError("runner_crashed", "model runner crashed: it is no longer running"));
      return id;
    }
    this.pending.set(id, { kind: "generate", sink });
    this.send({ type: "generate", id, spec });
    return id;
  }

  /** Stops a generation at once: its sink hears nothing more. */
  cancel(id: number): void {
    const request = this.pending.get(id);
    if (request?.kind !== "generate" || request.cancelled === true) return;
    request.cancelled = true;
    this.send({ type: "cancel", id });
  }

  embed(input: string[], truncate: boolean): Promise<{ embeddings: number[][]; promptTokens: number }> {
    return new Promise((resolve, reject) => {
      const id = this.call({ kind: "embed", resolve, reject });
      if (id !== undefined) this.send({ type: "embed", id, input, truncate });
    });
  }

  tokenize(text: string): Promise<number[]> {
    return new Promise((resolve, reject) => {
      const id = this.call({ kind: "tokenize", resolve, reject });
      if (id !== undefined) this.send({ type: "tokenize", id, text });
    });
  }

  /**
   * Stops the runner (idempotent). Requests still in flight fail with `shutting_down`. Resolves
   * when the process has exited.
   */
  stop(): Promise<void> {
    this.stopPromise ??= (async () => {
      this.stopRequested = true;
      if (this.exited) return;
      this.send({ type: "shutdown" });
      const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_GRACE_MS);
      await this.exitPromise;
      clearTimeout(timer);
    })();
    return this.stopPromise;
  }

  private call(request: Exclude<Pending, { kind: "generate" }>): number | undefined {
    if (this.exited) {
      request.reject(new AppError("runner_crashed", "model runner crashed: it is no longer running"));
      return undefined;
    }
    const id = this.nextId++;
    this.pending.set(id, request);
    return id;
  }

  private send(message: ParentMessage): void {
    if (this.exited || !this.child.connected) return;
    this.child.send(message, (error) => {
      // The channel closed under us: the exit handler reports it to the requests.
      if (error) this.log.debug({ err: error }, "runner send failed");
    });
  }

  private onMessage(message: ChildMessage): void {
    switch (message.type) {
      case "t": {
        const request = this.pending.get(message.id);
        if (request?.kind === "generate" && request.cancelled !== true) request.sink.text(message.s);
        return;
      }
      case "loaded":
        testedBinaries.add(this.spawnKey);
        this.info = message.info;
        this.settleLoad?.(undefined, message.info);
        return;
      case "reset":
        this.settleReset?.(true);
        return;
      case "load_error":
        this.settleLoad?.(new AppError("model_load_failed", `failed to load model: ${message.message}`));
        return;
      case "done": {
        const request = this.take(message.id);
        if (request?.kind !== "generate") return;
        // Done before the cancel reached the runner: for a cancelled request, only what it used.
        if (request.cancelled === true) request.sink.usage(message.stats);
        else request.sink.done(message.stats);
        return;
      }
      case "usage": {
        const request = this.take(message.id);
        if (request?.kind === "generate" && message.stats !== null) request.sink.usage(message.stats);
        return;
      }
      case "error": {
        const request = this.take(message.id);
        const error = new AppError(message.code, message.message);
        if (request?.kind === "generate") request.sink.fail(error);
        else request?.reject(error);
        return;
      }
      case "embedded": {
        const request = this.take(message.id);
        if (request?.kind === "embed")
          request.resolve({ embeddings: message.embeddings, promptTokens: message.promptTokens });
        return;
      }
      case "tokens": {
        const request = this.take(message.id);
        if (request?.kind === "tokenize") request.resolve(message.tokens);
        return;
      }
    }
  }

  private take(id: number): Pending | undefined {
    const request = this.pending.get(id);
    this.pending.delete(id);
    return request;
  }

  private handleExit(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    const crashed = !this.stopRequested;
    const how = describeExit(code, signal);
    if (crashed) {
      this.log.warn({ exit: how, output: this.stderrTail.join("\n") }, "model runner exited unexpectedly");
    }
    this.settleReset?.(false);
    this.settleLoad?.(
      crashed
        ? new AppError("model_load_failed", `model runner crashed while loading the model (${how})`)
        : new AppError("shutting_down", "the model was unloaded before it finished loading"),
    );
    const error = crashed
      ? new AppError("runner_crashed", `model runner crashed: ${how}`)
      : new AppError("shutting_down", "the model was unloaded while the request was running");
    const requests = [...this.pending.values()];
    this.pending.clear();
    for (const request of requests) {
      if (request.kind === "generate") request.sink.fail(error);
      else request.reject(error);
    }
    this.onExit(crashed);
  }
}
