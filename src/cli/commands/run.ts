import { Command } from "commander";
import { AppError, isAppError } from "../../errors.js";
import type { RunCommand } from "../command.js";
import { printErr } from "../output.js";
import { createProgressView } from "../progress.js";
import { formatStats, streamReply } from "../run/chat.js";
import { runRepl } from "../run/repl.js";
import { modelNameArg, openSession } from "../connection.js";
import { cliIo } from "../io.js";

/** Writes to stdout and resolves once the OS has the bytes (tokens appear as they arrive). */
function writeOut(text: string): Promise<void> {
  return new Promise((resolve) => cliIo().stdout.write(text, () => resolve()));
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * `aixcl run MODEL [PROMPT]`, like `ollama run`: a prompt argument or piped stdin gives one
 * answer streamed to stdout; a terminal gives an interactive chat. `--interactive` forces the
 * chat on a non-terminal stdin (scripts and tests feed it lines). Needs a running server.
 */
async function ensureModel(client: ReturnType<typeof openSession>["client"], model: string): Promise<void> {
  try {
    await client.show(model);
    return;
  } catch (error) {
    if (!(isAppError(error) && error.code === "model_not_found")) throw error;
  }
  const view = createProgressView();
  try {
    for await (const status of client.pull({ model })) view.update(status);
  } finally {
    view.stop();
  }
}

export function runCommand(run: RunCommand): Command {
  return new Command("run")
    .description("chat with a model (interactive), or answer one prompt")
    .argument("<model>", "model name", modelNameArg)
    .argument("[prompt...]", "prompt: answer it and exit")
    .option("--interactive", "chat interactively even when stdin is not a terminal")
    .option("--verbose", "print timings and token counts after each answer (stderr)")
    .action((model: string, words: string[], options: { interactive?: boolean; verbose?: boolean }) =>
      run(async () => {
        const { client } = openSession();
        // Fails early and clearly when no server runs; a model not installed yet is pulled
        // first, as `ollama run` does.
        await ensureModel(client, model);
        const verbose = options.verbose === true;
        const { stdin } = cliIo();
        if (options.interactive === true || (words.length === 0 && stdin.isTTY === true)) {
          await runRepl({ client, model, verbose, input: stdin, write: writeOut });
          return 0;
        }
        const piped = stdin.isTTY === true ? "" : await readAll(stdin);
        const prompt = [piped.trim(), words.join(" ")].filter((p) => p !== "").join("\n\n");
        if (prompt === "")
          throw new AppError("invalid_request", "no prompt given (as an argument or on stdin)");
        const reply = await streamReply(client, model, [{ role: "user", content: prompt }], writeOut);
        if (verbose && reply.final) await printErr(formatStats(reply.final));
        return 0;
      }),
    );
}
