/**
 * A real `aixcl serve` process (the run's compiled CLI, test/support/build.ts) in a temp home
 * with test models installed and the database copied from the migrated template, as the web
 * app's end-to-end tests meet it: on a random port (read from run/server.json), profile sys, the
 * vault's key file unsealing it at start and creating the first admin, whose credentials
 * `aixcl vault credentials` prints.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { compiled, ROOT } from "./build.js";
import { runInProcess } from "./cli-in-process.js";
import { copyPgliteTemplate } from "./pglite-template.js";
import { installModel } from "./test-models.js";

export interface ServeProcess {
  url: string;
  home: string;
  env: NodeJS.ProcessEnv;
  child: ChildProcess;
  /** The first admin, from `aixcl vault credentials`. */
  admin: { username: string; password: string };
  /** What the server wrote to stderr (its log). */
  log(): string;
  /** SIGTERM, wait for the exit, remove the home. Idempotent. */
  close(): Promise<void>;
  /**
   * Loads `model` now (an empty generate, as `ollama run` does), with the server's local admin
   * token: a file's first chat then does not also pay for starting a runner on busy cores.
   */
  warm(model: string): Promise<void>;
}

export interface ServeOptions {
  models: { name: string; gguf: string }[];
  /** Extra `serve` arguments. */
  args?: string[];
  /** Written to `$AIXCL_HOME/config.yaml` before the server starts (settings without a flag). */
  config?: string;
}

/** Runs `aixcl <args>` in this process against `env` and returns stdout (throws on a non-zero exit). */
export async function aixcl(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<string> {
  const result = await runInProcess(args, env, input);
  if (result.code !== 0) throw new Error(`aixcl ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function waitForRecord(home: string, child: ChildProcess, log: () => string): Promise<string> {
  for (let attempt = 0; attempt < 600; attempt++) {
    if (child.exitCode !== null) throw new Error(`aixcl serve exited ${child.exitCode}: ${log()}`);
    const text = await readFile(join(home, "run", "server.json"), "utf8").catch(() => undefined);
    if (text !== undefined) {
      const record = JSON.parse(text) as { url?: string };
      if (record.url) return record.url;
    }
    await sleep(50);
  }
  throw new Error(`aixcl serve did not start within 30 s: ${log()}`);
}

/**
 * The environment of an aixcl process a test starts for `home`: little of the test's own, and the
 * run's cache directory (test/support/global-setup.ts), where runners find the binaries
 * node-llama-cpp has tested in this run.
 */
export function homeEnv(home: string): NodeJS.ProcessEnv {
  const { PATH = "/usr/bin:/bin", XDG_CACHE_HOME } = process.env;
  return { PATH, HOME: home, AIXCL_HOME: home, ...(XDG_CACHE_HOME ? { XDG_CACHE_HOME } : {}) };
}

export async function startServeProcess(options: ServeOptions): Promise<ServeProcess> {
  const home = await mkdtemp(join(tmpdir(), "aixcl-e2e-"));
  const env = homeEnv(home);
  let child: ChildProcess | undefined;
  try {
    for (const model of options.models) await installModel(join(home, "models"), model.name, model.gguf);
    await copyPgliteTemplate(join(home, "db"));
    if (options.config !== undefined) await writeFile(join(home, "config.yaml"), options.config);
    child = spawn(
      process.execPath,
      [compiled().cli, "serve", "--port", "0", "--threads", "1", ...(options.args ?? [])],
      { cwd: ROOT, env, stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const log = () => stderr;
    const url = await waitForRecord(home, child, log);
    const credentials = await aixcl(["vault", "credentials"], env);
    const username = /user:\s+(\S+)/.exec(credentials)?.[1];
    const password = /password:\s+(\S+)/.exec(credentials)?.[1];
    if (!username || !password) throw new Error(`no admin credentials in: ${credentials}`);
    const running = child;
    let closed: Promise<void> | undefined;
    return {
      url,
      home,
      env,
      child: running,
      admin: { username, password },
      log,
      async warm(model) {
        const token = (await readFile(join(home, "run", "admin.token"), "utf8")).trim();
        const response = await fetch(`${url}/api/generate`, {
          method: "POST",
          headers: { Authorization: `Bearer ${token}` },
          body: JSON.stringify({ model, keep_alive: "30m" }),
        });
        if (!response.ok) throw new Error(`warming ${model}: ${response.status} ${await response.text()}`);
      },
      close: () =>
        (closed ??= (async () => {
          if (running.exitCode === null) {
            const exited = new Promise((resolve) => running.once("exit", resolve));
            running.kill("SIGTERM");
            await exited;
          }
          await rm(home, { recursive: true, force: true });
        })()),
    };
  } catch (error) {
    child?.kill("SIGKILL");
    await rm(home, { recursive: true, force: true });
    throw error;
  }
}
