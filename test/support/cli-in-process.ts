/**
 * `aixcl <args>` run in the test's own process: runAixcl (src/cli/program.ts) with streams and an
 * environment of its own (src/cli/io.ts), which saves a node start and a module load per call.
 * The CLI tests (test/cli/run-cli.ts) and the e2e support (serve-process.ts) both use it.
 */
import { PassThrough } from "node:stream";
import { runAixcl } from "../../src/cli/program.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `aixcl <args>` with `input` as its stdin (then EOF) and `env` as its environment. */
export async function runInProcess(args: string[], env: NodeJS.ProcessEnv, input = ""): Promise<CliResult> {
  const collect = () => {
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
  };
  const stdout = collect();
  const stderr = collect();
  const stdin = new PassThrough();
  stdin.end(input);
  const code = await runAixcl(["node", "aixcl", ...args], {
    stdin,
    stdout: stdout.stream,
    stderr: stderr.stream,
    env,
  });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
