/**
 * An append-only log file bounded on disk: when a write would take `path` past `maxBytes`, it is
 * renamed to `path.1` (`path.1` to `path.2`, …, the oldest dropped) and a new `path` begins, so
 * at most `files` files of `maxBytes` each exist. Writes are synchronous (one `write(2)` per log
 * line, in the logger's thread): a line is on disk when the call returns, and a crash loses none.
 * One writer per file: the server of a home (its PGlite lock and run/ files already say so).
 */
import { closeSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export interface RotatingFileOptions {
  path: string;
  /** Largest size of one file, bytes. */
  maxBytes: number;
  /** Files kept, the current one included (>= 1). */
  files: number;
}

export interface RotatingFile {
  write(text: string): void;
  close(): void;
}

/** The name of the `index`th older file (`aixcl.log.1`), or the current one for 0. */
export function rotatedPath(path: string, index: number): string {
  return index === 0 ? path : `${path}.${index}`;
}

export function createRotatingFile(options: RotatingFileOptions): RotatingFile {
  const { path, maxBytes } = options;
  const files = Math.max(1, Math.floor(options.files));
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd = openSync(path, "a", 0o600);
  let size = fstatSync(fd).size;

  const rotate = (): void => {
    closeSync(fd);
    rmSync(rotatedPath(path, files - 1), { force: true });
    for (let index = files - 2; index >= 0; index--) {
      try {
        renameSync(rotatedPath(path, index), rotatedPath(path, index + 1));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      }
    }
    fd = openSync(path, "a", 0o600);
    size = 0;
  };

  return {
    write(text) {
      const bytes = Buffer.from(text, "utf8");
      if (size > 0 && size + bytes.length > maxBytes) rotate();
      writeSync(fd, bytes);
      size += bytes.length;
    },
    close() {
      if (fd < 0) return;
      closeSync(fd);
      fd = -1;
    },
  };
}
