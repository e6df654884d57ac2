/**
 * node-llama-cpp test-loads its prebuilt binary before loading it: on Linux it always forks a
 * process that loads the binary and its backends and reports back (about 0.5 s and 0.7 s of CPU
 * on a 2-core machine), so that a binary that would crash the process is passed over for the next
 * candidate. A binary needs that test once on a machine, not in every runner:
 * - a pass is remembered in the user's cache directory (./binary-memo.ts), keyed by the binary
 *   file, the CPU and the release, so later runners of any process skip the test of that binary;
 * - a runner whose settings have already loaded llama.cpp in the server's lifetime skips it too
 *   (src/engine/runner/client.ts), whatever the cache says.
 * A runner is a disposable process anyway: a binary that crashed it would end one runner, not
 * the server.
 *
 * node-llama-cpp has no option for this, so while `getLlama` runs, `fork` of its test module is
 * answered in-process by a stand-in speaking the test's message protocol: it learns from the
 * test's first request which binary is meant, answers a pass for a known one, and otherwise
 * starts the real test process and relays between the two, remembering the binary if it passes.
 * The protocol is node-llama-cpp's own and may change in another release: the stand-in is used
 * only with the release it was written against, and any other runs the real test as is.
 */
import childProcess from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { syncBuiltinESMExports } from "node:module";
import { basename } from "node:path";
import type { BinaryMemo, BinaryUnderTest } from "./binary-memo.js";

/** The node-llama-cpp release whose binary test protocol the stand-in speaks. */
const PROTOCOL_RELEASE = "3.21.1";

/** The module node-llama-cpp forks for the test (its name is checked by node-llama-cpp too). */
const TEST_MODULE = /^testBindingBinary\.[cm]?js$/;

type TestMessage = { type: string } & Partial<BinaryUnderTest>;

/** How the stand-in settles a test: pass it, or run the real one (and on a pass remember it). */
interface Verdict {
  /** True when the test's binary may be taken as passed without testing. */
  known(binary: BinaryUnderTest): Promise<boolean>;
  /** Starts node-llama-cpp's real test process (the fork the stand-in took its place in). */
  fork(): ChildProcess;
  /** The real test passed for `binary`. */
  passed(binary: BinaryUnderTest): Promise<void>;
}

/**
 * Stands in for the test process. It says `ready` at once; the test's `start` names the binary.
 * A known binary is answered like a child whose binary loaded and initialised: `loaded` for
 * `start`, `done` for `test`, exit code 0 for `exit`; anything else fails the test (exit 1), so
 * a changed protocol is a failed load, never a hang. An unknown one gets the real test process,
 * which is given the same `start` once it is ready, and whose messages and exit are relayed.
 */
class TestStandIn extends EventEmitter {
  exitCode: number | null = null;
  readonly killed = false;
  readonly stdout = null;
  readonly stderr = null;
  private real: ChildProcess | undefined;
  private tested: BinaryUnderTest | undefined;

  constructor(private readonly verdict: Verdict) {
    super();
    this.reply({ type: "ready" });
  }

  send(message: TestMessage): boolean {
    if (this.exitCode !== null) return false;
    if (this.real) return this.real.send(message);
    if (
      message.type === "start" &&
      this.tested === undefined &&
      typeof message.bindingBinaryPath === "string"
    ) {
      const binary = {
        bindingBinaryPath: message.bindingBinaryPath,
        extBackendsPath: message.extBackendsPath,
        gpu: message.gpu,
      };
      this.tested = binary;
      void this.verdict.known(binary).then((known) => {
        if (this.exitCode !== null) return;
        if (known) this.reply({ type: "loaded" });
        else this.relay(message, binary);
      });
    } else if (message.type === "test" && this.tested !== undefined) {
      this.reply({ type: "done" });
    } else {
      this.exit(message.type === "exit" ? 0 : 1);
    }
    return true;
  }

  kill(): boolean {
    this.real?.kill("SIGKILL");
    this.exit(1);
    return true;
  }

  private relay(start: TestMessage, binary: BinaryUnderTest): void {
    const real = this.verdict.fork();
    this.real = real;
    real.on("message", (message: TestMessage) => {
      if (message.type === "ready") {
        real.send(start);
        return;
      }
      // A pass is written down before node-llama-cpp hears of it and goes on to load the binary.
      if (message.type === "done") {
        void this.verdict.passed(binary).finally(() => this.emit("message", message));
        return;
      }
      this.emit("message", message);
    });
    real.once("exit", (code) => this.exit(code ?? 1));
  }

  private reply(message: TestMessage): void {
    setImmediate(() => {
      if (this.exitCode === null) this.emit("message", message);
    });
  }

  private exit(code: number): void {
    if (this.exitCode !== null) return;
    this.exitCode = code;
    setImmediate(() => this.emit("exit", code, null));
  }
}

/** True when withBinaryTestStandIn may be used: the stand-in knows this node-llama-cpp `release`. */
export function canStandInForBinaryTest(release: string): boolean {
  return release === PROTOCOL_RELEASE;
}

/**
 * Runs `load` (node-llama-cpp's `getLlama`) with its binary test answered by the stand-in:
 * passed at once when `trusted` (this server's runners loaded llama.cpp with these settings) or
 * when `memo` knows the binary, run for real otherwise. Resolves with whether a real test ran.
 * Only the runner process calls this, before anything else of it forks.
 */
export async function withBinaryTestStandIn<T>(
  load: () => Promise<T>,
  trusted: boolean,
  memo: BinaryMemo,
): Promise<{ value: T; ran: boolean }> {
  const realFork = childProcess.fork;
  let ran = false;
  const fork = ((modulePath: string | URL, ...rest: unknown[]): ChildProcess => {
    const forkReal = () => (realFork as (...args: unknown[]) => ChildProcess)(modulePath, ...rest);
    const name = basename(modulePath instanceof URL ? modulePath.pathname : modulePath);
    if (!TEST_MODULE.test(name)) return forkReal();
    const standIn = new TestStandIn({
      known: async (binary) => trusted || (await memo.passed(binary)),
      fork: () => {
        ran = true;
        return forkReal();
      },
      passed: (binary) => memo.remember(binary),
    });
    return standIn as unknown as ChildProcess;
  }) as typeof childProcess.fork;
  childProcess.fork = fork;
  // node-llama-cpp imports `fork` by name: its binding follows the CommonJS export once synced.
  syncBuiltinESMExports();
  try {
    return { value: await load(), ran };
  } finally {
    childProcess.fork = realFork;
    syncBuiltinESMExports();
  }
}
