import { createInterface } from "node:readline";
import type { ApiClient } from "../../api/client.js";
import { isAppError } from "../../errors.js";
import { printErr } from "../output.js";
import { formatStats, streamReply, type ChatMessage } from "./chat.js";
import { cliIo } from "../io.js";

export interface ReplOptions {
  client: ApiClient;
  model: string;
  /** Print timings after each reply (stderr). */
  verbose: boolean;
  input: NodeJS.ReadableStream & { isTTY?: boolean };
  write: (text: string) => Promise<void>;
}

const HELP = [
  "Available Commands:",
  "  /set system <text>   Set the system message",
  "  /clear               Clear the session context",
  "  /bye                 Exit",
  "  /?, /help            Help for a command",
  "",
  'Use """ to begin a multi-line message.',
].join("\n");

const FENCE = '"""';

/**
 * The interactive chat of `aixcl run` (like `ollama run`): history kept across turns, `/set
 * system`, `/clear`, `/bye`, `"""` multi-line input, Ctrl-C stops a reply in progress. Lines
 * are read with readline's async iterator so piped input is taken one turn at a time.
 */
export async function runRepl(options: ReplOptions): Promise<void> {
  const { client, model, write } = options;
  const tty = options.input.isTTY === true;
  const lines = createInterface({
    input: options.input,
    output: tty ? cliIo().stdout : undefined,
    terminal: tty,
  });
  let history: ChatMessage[] = [];
  let system: string | undefined;
  let pending: string[] | undefined;
  let generating: AbortController | undefined;

  lines.on("SIGINT", () => {
    if (generating) generating.abort();
    else void write("\nUse Ctrl + d or /bye to exit.\n").then(() => prompt());
  });
  const prompt = (): void => {
    if (!tty) return;
    lines.setPrompt(pending ? "... " : ">>> ");
    lines.prompt();
  };

  const send = async (text: string): Promise<void> => {
    const user: ChatMessage = { role: "user", content: text };
    const messages = [
      ...(system !== undefined ? [{ role: "system" as const, content: system }] : []),
      ...history,
      user,
    ];
    generating = new AbortController();
    try {
      const reply = await streamReply(client, model, messages, write, generating.signal);
      history = [...history, user, { role: "assistant", content: reply.content }];
      if (options.verbose && reply.final) await printErr(formatStats(reply.final));
    } catch (error) {
      // A failed or cancelled turn leaves the history as it was; the session goes on.
      if (generating.signal.aborted) return;
      if (!isAppError(error) || error.status === 503) throw error;
      await printErr(`Error: ${error.message}`);
    } finally {
      generating = undefined;
    }
  };

  /** Returns false when the session should end. */
  const command = async (line: string): Promise<boolean> => {
    const [name = "", ...rest] = line.trim().split(/\s+/);
    switch (name) {
      case "/bye":
        return false;
      case "/clear":
        history = [];
        await write("Cleared session context\n");
        return true;
      case "/set":
        if (rest[0] === "system") {
          const text = line.trim().slice("/set".length).trimStart().slice("system".length).trim();
          system = text === "" ? undefined : text;
          await write(text === "" ? "Cleared system message.\n" : "Set system message.\n");
        } else {
          await write("Usage: /set system <text>\n");
        }
        return true;
      case "/?":
      case "/help":
        await write(`${HELP}\n`);
        return true;
      default:
        await write(`Unknown command '${name}'. Type /? for help\n`);
        return true;
    }
  };

  prompt();
  try {
    for await (const raw of lines) {
      if (pending) {
        // Inside a """ block: everything up to a line ending in """ is one message.
        if (raw.trimEnd().endsWith(FENCE)) {
          pending.push(raw.trimEnd().slice(0, -FENCE.length));
          const text = pending.join("\n").trim();
          pending = undefined;
          if (text !== "") await send(text);
        } else {
          pending.push(raw);
        }
      } else if (raw.trimStart().startsWith(FENCE)) {
        const body = raw.trimStart().slice(FENCE.length);
        if (body.trimEnd().endsWith(FENCE) && body.trimEnd().length >= FENCE.length) {
          const text = body.trimEnd().slice(0, -FENCE.length).trim();
          if (text !== "") await send(text);
        } else {
          pending = [body];
        }
      } else if (raw.trim().startsWith("/")) {
        if (!(await command(raw))) break;
      } else if (raw.trim() !== "") {
        await send(raw);
      }
      prompt();
    }
  } finally {
    lines.close();
  }
}
