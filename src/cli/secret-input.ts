/**
 * Reading a secret (password, passphrase) without putting it on argv, which every local user can
 * read in /proc: from the terminal without echo, from piped stdin, or from a file given by path.
 */
import { readFile } from "node:fs/promises";
import { AppError } from "../errors.js";
import { cliIo } from "./io.js";

/** Reads one line from the terminal with echo off (raw mode); Ctrl-C cancels. */
export function promptHidden(prompt: string): Promise<string> {
  const { stdin, stderr } = cliIo();
  const setRawMode = (mode: boolean): void => void stdin.setRawMode?.(mode);
  // Echo off before the prompt shows: a user typing right away must not see their input echoed.
  setRawMode(true);
  stderr.write(prompt);
  stdin.setEncoding("utf8");
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value: string[] = [];
    const finish = (error?: AppError) => {
      stdin.off("data", onData);
      setRawMode(false);
      stdin.pause();
      stderr.write("\n");
      if (error) reject(error);
      else resolve(value.join(""));
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n" || char === "\u0004") return finish();
        if (char === "\u0003") return finish(new AppError("invalid_request", "cancelled"));
        if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
        else if (char >= " ") value.push(char);
      }
    };
    stdin.on("data", onData);
  });
}

/** All of stdin (piped), as UTF-8. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of cliIo().stdin)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** The first line of a text, without its line ending (files written by `echo` end with one). */
export const firstLine = (text: string): string => text.split(/\r?\n/, 1)[0] ?? "";

/**
 * The first line of the file a `flag` (e.g. `--password-file`) names. An unreadable file is an
 * `invalid_request` naming the flag, the path and the errno code, never the file's contents.
 */
export async function readSecretFile(path: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "error";
    throw new AppError("invalid_request", `cannot read ${flag} ${path} (${code})`);
  }
  return firstLine(text);
}
