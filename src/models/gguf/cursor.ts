/**
 * Bounded, buffered little-endian reads from an open file. Never reads the whole file: bytes
 * come in chunks of CHUNK_SIZE, and a larger read (a long string) is allocated only after the
 * caller has checked its length against the bytes left in the file.
 */
import type { FileHandle } from "node:fs/promises";
import { AppError } from "../../errors.js";

const CHUNK_SIZE = 256 * 1024;

export function invalidGguf(detail: string): AppError {
  return new AppError("invalid_gguf", `invalid GGUF: ${detail}`);
}

export class FileCursor {
  private buf = Buffer.alloc(CHUNK_SIZE);
  private bufPos = 0;
  private bufLen = 0;
  /** Absolute file offset of buf[0]. */
  private bufStart = 0n;
  /** Where in the file we are, for "truncated in …" messages. */
  where = "header";

  constructor(
    private readonly fh: FileHandle,
    readonly fileSize: bigint,
  ) {}

  /** Absolute offset of the next unread byte. */
  get position(): bigint {
    return this.bufStart + BigInt(this.bufPos);
  }

  /** Bytes left in the file after the current position. */
  get remaining(): bigint {
    return this.fileSize - this.position;
  }

  /**
   * Makes `n` (≤ CHUNK_SIZE) bytes available in the buffer. Returns undefined when they already
   * are, so hot loops (vocabularies) skip the await.
   */
  need(n: number): Promise<void> | undefined {
    if (this.bufLen - this.bufPos >= n) return undefined;
    return this.fill(n);
  }

  private async fill(n: number): Promise<void> {
    if (this.remaining < BigInt(n)) throw invalidGguf(`truncated in ${this.where}`);
    const keep = this.bufLen - this.bufPos;
    this.buf.copy(this.buf, 0, this.bufPos, this.bufLen);
    this.bufStart += BigInt(this.bufPos);
    this.bufPos = 0;
    this.bufLen = keep;
    while (this.bufLen < n) {
      const fileOffset = this.bufStart + BigInt(this.bufLen);
      const want = Math.min(CHUNK_SIZE - this.bufLen, Number(this.fileSize - fileOffset));
      const { bytesRead } = await this.fh.read(this.buf, this.bufLen, want, Number(fileOffset));
      // The file shrank under us: treat it like a truncated file.
      if (bytesRead === 0) throw invalidGguf(`truncated in ${this.where}`);
      this.bufLen += bytesRead;
    }
  }

  // The sync readers below require a prior `need()` covering them.
  u8(): number {
    return this.buf.readUInt8(this.bufPos++);
  }
  i8(): number {
    return this.buf.readInt8(this.bufPos++);
  }
  u16(): number {
    const v = this.buf.readUInt16LE(this.bufPos);
    this.bufPos += 2;
    return v;
  }
  i16(): number {
    const v = this.buf.readInt16LE(this.bufPos);
    this.bufPos += 2;
    return v;
  }
  u32(): number {
    const v = this.buf.readUInt32LE(this.bufPos);
    this.bufPos += 4;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32LE(this.bufPos);
    this.bufPos += 4;
    return v;
  }
  f32(): number {
    const v = this.buf.readFloatLE(this.bufPos);
    this.bufPos += 4;
    return v;
  }
  f64(): number {
    const v = this.buf.readDoubleLE(this.bufPos);
    this.bufPos += 8;
    return v;
  }
  u64(): bigint {
    const v = this.buf.readBigUInt64LE(this.bufPos);
    this.bufPos += 8;
    return v;
  }
  i64(): bigint {
    const v = this.buf.readBigInt64LE(this.bufPos);
    this.bufPos += 8;
    return v;
  }

  /** Reads `length` bytes as UTF-8. The caller has already bounded `length` by the file size and a cap. */
  async utf8(length: number): Promise<string> {
    if (length <= CHUNK_SIZE) {
      const pending = this.need(length);
      if (pending) await pending;
      const s = this.buf.toString("utf8", this.bufPos, this.bufPos + length);
      this.bufPos += length;
      return s;
    }
    // Longer than a chunk: drain what is buffered, then read the rest straight into its own buffer.
    if (this.remaining < BigInt(length)) throw invalidGguf(`truncated in ${this.where}`);
    const out = Buffer.alloc(length);
    const buffered = this.bufLen - this.bufPos;
    this.buf.copy(out, 0, this.bufPos, this.bufLen);
    let filled = buffered;
    let fileOffset = this.bufStart + BigInt(this.bufLen);
    while (filled < length) {
      const { bytesRead } = await this.fh.read(out, filled, length - filled, Number(fileOffset));
      if (bytesRead === 0) throw invalidGguf(`truncated in ${this.where}`);
      filled += bytesRead;
      fileOffset += BigInt(bytesRead);
    }
    this.bufStart = fileOffset;
    this.bufPos = 0;
    this.bufLen = 0;
    return out.toString("utf8");
  }
}
