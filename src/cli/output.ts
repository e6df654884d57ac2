/**
 * The CLI's own output. Only cli/ writes to stdout; everything else goes through the logger.
 * Writes resolve once the data is handed to the OS, so an exit right after loses nothing.
 */
function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => resolve());
  });
}

export function printOut(text: string): Promise<void> {
  return write(process.stdout, text.endsWith("\n") ? text : `${text}\n`);
}

export function printErr(text: string): Promise<void> {
  return write(process.stderr, text.endsWith("\n") ? text : `${text}\n`);
}
