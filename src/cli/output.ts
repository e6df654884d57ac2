/**
 * The CLI's own output. Only cli/ writes to stdout; everything else goes through the logger.
 * Writes resolve once the data is handed to the OS, so an exit right after loses nothing.
 */
import { cliIo, type CliOutput } from "./io.js";

let outputGone = false;

/**
 * Whether the reader of this process's output went away (`aixcl stack logs -f | head -1`): what
 * is printed after that is dropped, and a followed log ends.
 */
export const outputClosed = (): boolean => outputGone;

/**
 * Node ignores SIGPIPE, so a closed pipe is an EPIPE error on the stream, which would end the
 * command with a stack trace: mid-restart, with its lock still held. The command finishes
 * instead, printing nothing more.
 */
export function toleratePipes(): void {
  const { stdout, stderr } = cliIo();
  for (const stream of [stdout, stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code !== "EPIPE") throw error;
      outputGone = true;
    });
  }
}

function write(stream: CliOutput, text: string): Promise<void> {
  if (outputGone) return Promise.resolve();
  return new Promise((resolve) => {
    stream.write(text, () => resolve());
  });
}

export function printOut(text: string): Promise<void> {
  return write(cliIo().stdout, text.endsWith("\n") ? text : `${text}\n`);
}

export function printErr(text: string): Promise<void> {
  return write(cliIo().stderr, text.endsWith("\n") ? text : `${text}\n`);
}
