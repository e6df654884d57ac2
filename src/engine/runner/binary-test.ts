/**
 * node-llama-cpp test-loads its prebuilt binary before loading it: on Linux it always forks a
 * process that loads the binary and its backends and reports back (about 0.5 s and 0.7 s of CPU
 * on a 2-core machine), so that a binary that would crash the process is passed over for the next
 * candidate. The server asks for that test once per runner settings: when a runner with the same
 * settings has already loaded llama.cpp in the server's lifetime, the same binary on the same
 * machine has passed it, and the next runners skip it (src/engine/runner/client.ts). A runner is
 * a disposable process anyway: a binary that crashed it would end one runner, not the server.
 *
 * node-llama-cpp has no option for this, so while `getLlama` runs, `fork` of its test module is
 * answered in-process by a stand-in that reports a pass in the test's message protocol. The
 * protocol is node-llama-cpp's own and may change in another release: the stand-in is used only
 * with the release it was written against, and any other runs the real test.
 */
import childProcess from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { syncBuiltinESMExports } from "node:module";
import { basename } from "node:path";
import { getModuleVersion } from "node-llama-cpp";

/** The node-llama-cpp release whose binary test protocol the stand-in speaks. */
const PROTOCOL_RELEASE = "3.21.1";

/** The module node-llama-cpp forks for the test (its name is checked by node-llama-cpp too). */
const TEST_MODULE = /^testBindingBinary\.[cm]?js$/;

type TestMessage = { type: string };

/**
 * Answers the test like a child whose binary loaded and initialised: `ready`, then `loaded` for
 * `start`, `done` for `test`, and exit code 0 for `exit`. Anything else fails the test (exit 1),
 * so a changed protocol is a failed load, never a hang.
 */
class PassingTest extends EventEmitter {
  exitCode: number | null = null;
  readonly killed = false;
  readonly stdout = null;
  readonly stderr = null;

  constructor() {
    super();
    setImmediate(() => this.reply({ type: "ready" }));
  }

  send(message: TestMessage): boolean {
    if (this.exitCode !== null) return false;
    if (message.type === "start") this.reply({ type: "loaded" });
    else if (message.type === "test") this.reply({ type: "done" });
    else this.exit(message.type === "exit" ? 0 : 1);
    return true;
  }

  kill(): boolean {
    this.exit(1);
    return true;
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

/** True when withBinaryTestSkipped may be used: the stand-in knows this node-llama-cpp release. */
export async function canSkipBinaryTest(): Promise<boolean> {
  return (await getModuleVersion()) === PROTOCOL_RELEASE;
}

/**
 * Runs `load` (node-llama-cpp's `getLlama`) with its binary test answered as passed. Only the
 * runner process calls this, before anything else of it forks.
 */
export async function withBinaryTestSkipped<T>(load: () => Promise<T>): Promise<T> {
  const realFork = childProcess.fork;
  const fork = ((modulePath: string | URL, ...rest: unknown[]): ChildProcess => {
    const name = basename(modulePath instanceof URL ? modulePath.pathname : modulePath);
    if (TEST_MODULE.test(name)) return new PassingTest() as unknown as ChildProcess;
    return (realFork as (...args: unknown[]) => ChildProcess)(modulePath, ...rest);
  }) as typeof childProcess.fork;
  childProcess.fork = fork;
  // node-llama-cpp imports `fork` by name: its binding follows the CommonJS export once synced.
  syncBuiltinESMExports();
  try {
    return await load();
  } finally {
    childProcess.fork = realFork;
    syncBuiltinESMExports();
  }
}
