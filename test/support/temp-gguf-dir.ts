import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll } from "vitest";

export interface TempGgufDir {
  /** The directory; set once the file's beforeAll has run. */
  readonly path: string;
  /** Writes `bytes` to a new `f<n>.gguf` in the directory and returns its path. */
  readonly file: (bytes: Uint8Array) => Promise<string>;
}

/**
 * A temp directory for the GGUF files one test file writes: created before its tests, removed
 * after them. Call at the top level of the test file (it registers beforeAll/afterAll).
 */
export function tempGgufDir(): TempGgufDir {
  let dir = "";
  let counter = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "aixcl-gguf-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      return dir;
    },
    file: async (bytes) => {
      const path = join(dir, `f${counter++}.gguf`);
      await writeFile(path, bytes);
      return path;
    },
  };
}
