/**
 * The CLI's own output. Only cli/ writes to stdout; everything else goes through the logger.
 * Writes resolve once the data is handed to the OS, so an exit right after loses nothing.
 */
import { cliIo, type CliOutput } from "./io.js";

function write(stream: CliOutput, text: string): Promise<void> {
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
