/**
 * How a blob is split into Range parts, and the JSON beside its partial file that records how far
 * each part got, so a pull interrupted by anything — a reset, a full disk, a killed process —
 * resumes every part at the byte it reached.
 */
import { open, readFile, rename, unlink, writeFile } from "node:fs/promises";

export interface PartSizing {
  /** Smallest Range part, bytes: a blob up to this size is one part. */
  minPartSize: number;
  /** Largest Range part, bytes. */
  maxPartSize: number;
}

/** Parts a blob aims at, as Ollama sizes them: size / 16, clamped to the sizing's bounds. */
const TARGET_PARTS = 16;

const MIB = 1024 * 1024;

/** Ollama's bounds: a 1 GiB blob is 16 parts of 64 MiB, a 10 GiB one 40 of 256 MiB. */
export const DEFAULT_PART_SIZING: PartSizing = { minPartSize: 64 * MIB, maxPartSize: 256 * MIB };

export interface Part {
  index: number;
  /** First byte of the part in the blob. */
  start: number;
  /** Length of the part, bytes. */
  length: number;
  /** Bytes from `start` whose writes have completed, contiguous (what a restart may keep). */
  written: number;
  /** Bytes from `start` received and handed to writes (what a retry resumes from). */
  received: number;
}

function partSize(size: number, sizing: PartSizing): number {
  const target = Math.ceil(size / TARGET_PARTS);
  return Math.max(1, Math.min(sizing.maxPartSize, Math.max(sizing.minPartSize, target)));
}

export function planParts(size: number, sizing: PartSizing): Part[] {
  const each = partSize(size, sizing);
  const count = Math.max(1, Math.ceil(size / each));
  return Array.from({ length: count }, (_, index) => {
    const start = index * each;
    return {
      index,
      start,
      length: Math.max(0, Math.min(size, start + each) - start),
      written: 0,
      received: 0,
    };
  });
}

/**
 * The state file. `done` lists finished parts (the format before byte-level resume, still read);
 * `reached` maps an unfinished part to the bytes of it on disk.
 */
interface StateFile {
  size: number;
  partSize: number;
  done: number[];
  reached?: Record<string, number>;
}

/** Applies a saved state to `parts` (fresh ones); a state for another layout is ignored. */
export async function loadState(path: string, size: number, parts: Part[]): Promise<void> {
  let state: Partial<StateFile>;
  try {
    state = JSON.parse(await readFile(path, "utf8")) as Partial<StateFile>;
  } catch {
    // Missing or unreadable: start over; the digest check guards against anything stale.
    return;
  }
  const each = parts[0]?.length ?? 0;
  if (state.size !== size || (parts.length > 1 && state.partSize !== each) || !Array.isArray(state.done))
    return;
  for (const i of state.done) {
    const part = Number.isInteger(i) ? parts[i] : undefined;
    if (part) part.written = part.received = part.length;
  }
  for (const [key, value] of Object.entries(state.reached ?? {})) {
    const part = parts[Number(key)];
    if (part && Number.isInteger(value) && value > 0 && value <= part.length && part.written === 0) {
      part.written = part.received = value;
    }
  }
}

function render(size: number, parts: Part[]): string {
  const reached: Record<string, number> = {};
  for (const part of parts) {
    if (part.written > 0 && part.written < part.length) reached[part.index] = part.written;
  }
  return JSON.stringify({
    size,
    partSize: parts[0]?.length ?? 0,
    done: parts.filter((p) => p.written === p.length).map((p) => p.index),
    reached,
  } satisfies StateFile);
}

function isNoSpace(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/**
 * Writes the state: a temp file renamed over the old one, without fsync (a lost state file only
 * costs a re-download; the digest check catches bytes that did not reach the disk). On a full
 * disk the temp file cannot be created, so the old file is overwritten in place instead (it is
 * written before the first data byte, so its blocks exist), padded to its old length.
 */
export async function saveState(path: string, size: number, parts: Part[]): Promise<void> {
  const body = render(size, parts);
  const temp = `${path}.tmp`;
  try {
    await writeFile(temp, body);
    await rename(temp, path);
  } catch (error) {
    if (!isNoSpace(error)) throw error;
    await unlink(temp).catch(() => undefined);
    const handle = await open(path, "r+");
    try {
      const old = (await handle.stat()).size;
      // JSON allows trailing spaces: padding never leaves bytes of the old state after the new one.
      await handle.write(body.padEnd(old, " "), 0);
    } finally {
      await handle.close();
    }
  }
}

export { isNoSpace };
