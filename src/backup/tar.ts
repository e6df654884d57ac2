/**
 * A small POSIX ustar writer and reader for backup files: `tar tf` / `tar xf` read what the writer
 * makes. Only regular files are written (directories are implied by the names). The reader is
 * strict on purpose: it accepts exactly what the writer produces (every header byte, zero padding,
 * the end-of-archive blocks), so one changed byte anywhere outside a file's contents is refused
 * here, and contents are covered by the manifest's SHA-256 sums.
 */
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { AppError } from "../errors.js";

const BLOCK = 512;
/** Largest size the 11 octal digits of a ustar header hold (8 GiB - 1). */
const MAX_SIZE = 8 * 1024 ** 3 - 1;
const CHUNK = 256 * 1024;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

export interface TarEntryInfo {
  /** Path inside the archive, `/`-separated, relative. */
  name: string;
  size: number;
  /** Permission bits (e.g. 0o600). */
  mode: number;
  /** Modification time, whole seconds since the epoch. */
  mtime: number;
}

function corrupt(detail: string): AppError {
  return new AppError("invalid_request", `not a valid aixcl backup: ${detail}`);
}

/** Splits a name into ustar's prefix (≤155 bytes) and name (≤100 bytes) fields at a `/`. */
function splitName(name: string): { prefix: string; name: string } {
  if (Buffer.byteLength(name) <= 100) return { prefix: "", name };
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== "") {
      return { prefix, name: rest };
    }
  }
  throw new AppError("invalid_request", `path too long for a backup archive: ${name}`);
}

function octal(value: number, width: number): string {
  // width - 1 digits, zero-padded, then the NUL terminator added by the caller's field layout.
  return value.toString(8).padStart(width - 1, "0");
}

/** The 512-byte ustar header of a regular file. */
export function encodeHeader(entry: TarEntryInfo): Buffer {
  if (!Number.isSafeInteger(entry.size) || entry.size < 0 || entry.size > MAX_SIZE) {
    throw new AppError(
      "invalid_request",
      `${entry.name} is larger than a backup archive entry can hold (8 GiB)`,
    );
  }
  const header = Buffer.alloc(BLOCK);
  const { prefix, name } = splitName(entry.name);
  header.write(name, 0, 100, "utf8");
  header.write(`${octal(entry.mode & 0o7777, 8)}\0`, 100, "ascii");
  header.write(`${octal(0, 8)}\0`, 108, "ascii"); // uid: ownership is the restorer's, not ours
  header.write(`${octal(0, 8)}\0`, 116, "ascii"); // gid
  header.write(`${octal(entry.size, 12)}\0`, 124, "ascii");
  header.write(`${octal(entry.mtime, 12)}\0`, 136, "ascii");
  header.write("        ", 148, "ascii"); // checksum counts as spaces while summing
  header.write("0", 156, "ascii"); // regular file
  header.write("ustar\0", 257, "ascii");
  header.write("00", 263, "ascii");
  header.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${octal(sum, 7)}\0 `, 148, "ascii");
  return header;
}

function field(header: Buffer, start: number, length: number): string {
  const raw = header.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString("utf8");
}

function parseOctal(header: Buffer, start: number, length: number, what: string): number {
  const text = field(header, start, length);
  if (!/^[0-7]{1,11}$/.test(text)) throw corrupt(`bad ${what} in a tar header`);
  return parseInt(text, 8);
}

/** Parses a header the writer made; anything else (or any changed byte) is refused. */
export function decodeHeader(header: Buffer): TarEntryInfo {
  const prefix = field(header, 345, 155);
  const base = field(header, 0, 100);
  const entry: TarEntryInfo = {
    name: prefix === "" ? base : `${prefix}/${base}`,
    mode: parseOctal(header, 100, 8, "mode"),
    size: parseOctal(header, 124, 12, "size"),
    mtime: parseOctal(header, 136, 12, "mtime"),
  };
  let expected: Buffer;
  try {
    expected = encodeHeader(entry);
  } catch {
    throw corrupt(`bad tar header for ${entry.name}`);
  }
  if (!expected.equals(header)) throw corrupt(`tar header of ${JSON.stringify(entry.name)} is damaged`);
  return entry;
}

const padding = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

export interface TarWriter {
  /**
   * Adds a regular file whose contents `produce` writes through `write` (any number of chunks;
   * the size need not be known in advance). Returns the size and SHA-256 (hex) of the contents.
   */
  addFile(
    entry: Omit<TarEntryInfo, "size">,
    produce: (write: (chunk: Buffer | string) => Promise<void>) => Promise<void>,
  ): Promise<{ size: number; sha256: string }>;
  /** Writes the end-of-archive marker (two zero blocks). */
  finish(): Promise<void>;
}

/**
 * A writer on an open file, from its start. Contents stream through: the header goes in with a
 * zero size and is rewritten in place once the size is known, so nothing is held in memory.
 */
export function createTarWriter(file: FileHandle): TarWriter {
  let offset = 0;
  const writeAt = async (buffer: Buffer, position: number) => {
    let done = 0;
    while (done < buffer.length) {
      const { bytesWritten } = await file.write(buffer, done, buffer.length - done, position + done);
      done += bytesWritten;
    }
  };
  return {
    async addFile(info, produce) {
      const headerAt = offset;
      await writeAt(encodeHeader({ ...info, size: 0 }), headerAt);
      offset += BLOCK;
      const hash = createHash("sha256");
      let size = 0;
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const data = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await writeAt(data, offset);
        offset += data.length;
      };
      await produce(async (chunk) => {
        const data = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
        if (data.length === 0) return;
        hash.update(data);
        size += data.length;
        pending.push(data);
        pendingBytes += data.length;
        if (pendingBytes >= CHUNK) await flush();
      });
      await flush();
      const pad = padding(size);
      if (pad > 0) {
        await writeAt(Buffer.alloc(pad), offset);
        offset += pad;
      }
      await writeAt(encodeHeader({ ...info, size }), headerAt);
      return { size, sha256: hash.digest("hex") };
    },
    async finish() {
      await writeAt(Buffer.alloc(BLOCK * 2), offset);
      offset += BLOCK * 2;
      await file.truncate(offset);
    },
  };
}

async function readExactly(file: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await file.read(buffer, done, length - done, position + done);
    if (bytesRead === 0) throw corrupt("the archive is truncated");
    done += bytesRead;
  }
  return buffer;
}

/**
 * Reads every entry of an archive the writer made, in order. `onEntry` gets the entry and its
 * contents as chunks (read lazily: an entry it does not consume is skipped without reading).
 * Damaged headers, non-zero padding, missing end blocks and trailing bytes are refused.
 */
export async function readTar(
  file: FileHandle,
  onEntry: (entry: TarEntryInfo, contents: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const { size: total } = await file.stat();
  let offset = 0;
  for (;;) {
    if (offset + BLOCK > total) throw corrupt("the archive is truncated (no end-of-archive marker)");
    const header = await readExactly(file, BLOCK, offset);
    if (header.equals(ZERO_BLOCK)) break;
    const entry = decodeHeader(header);
    const start = offset + BLOCK;
    const end = start + entry.size;
    const pad = padding(entry.size);
    if (end + pad > total) throw corrupt(`the archive is truncated in ${entry.name}`);
    async function* contents(): AsyncGenerator<Buffer> {
      for (let at = start; at < end; at += CHUNK) {
        yield await readExactly(file, Math.min(CHUNK, end - at), at);
      }
    }
    await onEntry(entry, contents());
    if (pad > 0 && !(await readExactly(file, pad, end)).equals(Buffer.alloc(pad))) {
      throw corrupt(`padding after ${entry.name} is not zero`);
    }
    offset = end + pad;
  }
  // The writer ends with exactly two zero blocks; tar tools may pad to a record size with more.
  const rest = total - offset;
  if (rest < BLOCK * 2 || rest % BLOCK !== 0) throw corrupt("bad end-of-archive marker");
  for (let at = offset; at < total; at += CHUNK) {
    const tail = await readExactly(file, Math.min(CHUNK, total - at), at);
    if (tail.some((byte) => byte !== 0)) throw corrupt("bytes after the end-of-archive marker");
  }
}
