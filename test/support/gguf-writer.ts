/**
 * A small GGUF v3 writer for tests: no model can be downloaded here and no npm package writes
 * GGUF tensors, so tests build their own models. Supports every metadata value type (nested
 * arrays included) and F32 / F16 / Q8_0 tensors. Low-level pieces (ByteSink, encodeHeader) are
 * exported so reader tests can craft malformed files byte by byte.
 */
import { open, rename, rm } from "node:fs/promises";
import {
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GgmlType,
  GgufType,
} from "../../src/models/gguf/types.js";

export type ScalarKind =
  "u8" | "i8" | "u16" | "i16" | "u32" | "i32" | "f32" | "bool" | "string" | "u64" | "i64" | "f64";

export type MetaEntry =
  | { kind: ScalarKind; value: string | number | bigint | boolean }
  | { kind: "array"; itemKind: ScalarKind; items: (string | number | bigint | boolean)[] }
  | { kind: "array"; itemKind: "array"; items: MetaEntry[] };

/** Typed metadata constructors: `meta.u32(4)`, `meta.strings(["a"])`. */
export const meta = {
  u8: (value: number): MetaEntry => ({ kind: "u8", value }),
  i8: (value: number): MetaEntry => ({ kind: "i8", value }),
  u16: (value: number): MetaEntry => ({ kind: "u16", value }),
  i16: (value: number): MetaEntry => ({ kind: "i16", value }),
  u32: (value: number): MetaEntry => ({ kind: "u32", value }),
  i32: (value: number): MetaEntry => ({ kind: "i32", value }),
  f32: (value: number): MetaEntry => ({ kind: "f32", value }),
  f64: (value: number): MetaEntry => ({ kind: "f64", value }),
  u64: (value: bigint | number): MetaEntry => ({ kind: "u64", value }),
  i64: (value: bigint | number): MetaEntry => ({ kind: "i64", value }),
  bool: (value: boolean): MetaEntry => ({ kind: "bool", value }),
  str: (value: string): MetaEntry => ({ kind: "string", value }),
  strings: (items: string[]): MetaEntry => ({ kind: "array", itemKind: "string", items }),
  f32s: (items: number[]): MetaEntry => ({ kind: "array", itemKind: "f32", items }),
  i32s: (items: number[]): MetaEntry => ({ kind: "array", itemKind: "i32", items }),
  array: (itemKind: ScalarKind, items: (string | number | bigint | boolean)[]): MetaEntry => ({
    kind: "array",
    itemKind,
    items,
  }),
  arrays: (items: MetaEntry[]): MetaEntry => ({ kind: "array", itemKind: "array", items }),
};

const KIND_TYPE: Record<ScalarKind | "array", number> = {
  u8: GgufType.UINT8,
  i8: GgufType.INT8,
  u16: GgufType.UINT16,
  i16: GgufType.INT16,
  u32: GgufType.UINT32,
  i32: GgufType.INT32,
  f32: GgufType.FLOAT32,
  bool: GgufType.BOOL,
  string: GgufType.STRING,
  array: GgufType.ARRAY,
  u64: GgufType.UINT64,
  i64: GgufType.INT64,
  f64: GgufType.FLOAT64,
};

/** Growable little-endian byte buffer. */
export class ByteSink {
  private buf = Buffer.alloc(4096);
  length = 0;

  private ensure(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + extra));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
    return this;
  }
  i8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
    return this;
  }
  i16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
    return this;
  }
  i32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
    return this;
  }
  f32(v: number): this {
    this.ensure(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
    return this;
  }
  f64(v: number): this {
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
    return this;
  }
  u64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
    return this;
  }
  i64(v: bigint | number): this {
    this.ensure(8);
    this.buf.writeBigInt64LE(BigInt(v), this.length);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** GGUF string: u64 byte length + UTF-8 bytes. */
  str(s: string): this {
    const b = Buffer.from(s, "utf8");
    return this.u64(b.length).bytes(b);
  }
  padTo(alignment: number): this {
    const pad = (alignment - (this.length % alignment)) % alignment;
    this.ensure(pad);
    this.buf.fill(0, this.length, this.length + pad);
    this.length += pad;
    return this;
  }
  toBuffer(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.length));
  }
}

function writeScalar(sink: ByteSink, kind: ScalarKind, value: string | number | bigint | boolean): void {
  switch (kind) {
    case "string":
      sink.str(String(value));
      return;
    case "bool":
      sink.u8(value ? 1 : 0);
      return;
    case "u64":
    case "i64":
      sink[kind](typeof value === "bigint" ? value : BigInt(Number(value)));
      return;
    case "u8":
    case "i8":
    case "u16":
    case "i16":
    case "u32":
    case "i32":
    case "f32":
    case "f64":
      sink[kind](Number(value));
      return;
  }
}

/** Writes a value (type id + payload) as it follows a key. */
function writeMetaValue(sink: ByteSink, entry: MetaEntry): void {
  sink.u32(KIND_TYPE[entry.kind]);
  writeMetaPayload(sink, entry);
}

function writeMetaPayload(sink: ByteSink, entry: MetaEntry): void {
  if (entry.kind !== "array") {
    writeScalar(sink, entry.kind, entry.value);
    return;
  }
  sink.u32(KIND_TYPE[entry.itemKind]);
  sink.u64(entry.items.length);
  if (entry.itemKind === "array") {
    for (const item of entry.items) {
      if (item.kind !== "array") throw new Error("nested array items must be arrays");
      writeMetaPayload(sink, item);
    }
    return;
  }
  const kind = entry.itemKind;
  for (const item of entry.items) writeScalar(sink, kind, item);
}

export interface RawTensorInfo {
  name: string;
  dims: (number | bigint)[];
  /** ggml type id (may be unknown on purpose in reader tests). */
  type: number;
  offset: bigint | number;
}

export interface HeaderSpec {
  /** Default 3. */
  version?: number;
  metadata: Record<string, MetaEntry>;
  tensors: RawTensorInfo[];
  /** Pad the header to this alignment (default 32). Does not add `general.alignment`. */
  alignment?: number;
}

/** Encodes magic, counts, metadata and tensor infos, padded to the alignment. */
export function encodeHeader(spec: HeaderSpec): Buffer {
  const sink = new ByteSink();
  sink.u32(GGUF_MAGIC).u32(spec.version ?? 3);
  sink.u64(spec.tensors.length).u64(Object.keys(spec.metadata).length);
  for (const [key, entry] of Object.entries(spec.metadata)) {
    sink.str(key);
    writeMetaValue(sink, entry);
  }
  for (const t of spec.tensors) {
    sink.str(t.name).u32(t.dims.length);
    for (const d of t.dims) sink.u64(d);
    sink.u32(t.type).u64(t.offset);
  }
  sink.padTo(spec.alignment ?? GGUF_DEFAULT_ALIGNMENT);
  return sink.toBuffer();
}

export type WritableTensorType = "F32" | "F16" | "Q8_0";

export interface TensorSpec {
  name: string;
  /** ggml order: ne0 (row length) first. */
  dims: number[];
  type: WritableTensorType;
  /** Element values (row-major by ne0), produced lazily so big models never sit in memory whole. */
  values: () => Float32Array;
  /** The tensor's bytes already in `type`'s encoding; used instead of encoding `values`. */
  encoded?: () => Buffer;
}

export interface GgufSpec {
  metadata: Record<string, MetaEntry>;
  tensors: TensorSpec[];
  /** Default 32; written as `general.alignment` when it differs. */
  alignment?: number;
}

export function tensorByteSize(type: WritableTensorType, dims: number[]): number {
  const info = GGML_TYPES[GgmlType[type]];
  if (!info) throw new Error(`unknown tensor type ${type}`);
  const n = dims.reduce((a, b) => a * b, 1);
  const ne0 = dims[0] ?? 1;
  if (ne0 % info.blockSize !== 0) throw new Error(`${type} needs ne0 to be a multiple of ${info.blockSize}`);
  return (n / info.blockSize) * info.typeSize;
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE float32 → binary16 bits, round to nearest. */
export function toHalf(value: number): number {
  f32Scratch[0] = value;
  const x = u32Scratch[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp8 = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp8 === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const exp = exp8 - 127 + 15;
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - exp;
    const half = mant >>> shift;
    const round = (mant >>> (shift - 1)) & 1;
    return sign | (half + round);
  }
  const bits = sign | (exp << 10) | (mant >>> 13);
  return mant & 0x1000 ? bits + 1 : bits;
}

export function encodeTensor(t: TensorSpec): Buffer {
  if (t.encoded) {
    const bytes = t.encoded();
    if (bytes.length !== tensorByteSize(t.type, t.dims))
      throw new Error(`tensor ${t.name}: ${bytes.length} bytes for ${tensorByteSize(t.type, t.dims)}`);
    return bytes;
  }
  const values = t.values();
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (values.length !== count)
    throw new Error(`tensor ${t.name}: ${values.length} values for ${count} elements`);
  const out = Buffer.alloc(tensorByteSize(t.type, t.dims));
  // Typed-array views over `out` assume a little-endian host (x86/ARM), as GGUF does.
  switch (t.type) {
    case "F32":
      new Float32Array(out.buffer, out.byteOffset, count).set(values);
      return out;
    case "F16": {
      const half = new Uint16Array(out.buffer, out.byteOffset, count);
      for (let i = 0; i < count; i++) half[i] = toHalf(values[i] ?? 0);
      return out;
    }
    case "Q8_0": {
      // block_q8_0: f16 scale d = amax/127, then 32 int8 quants (ggml quantize_row_q8_0_ref).
      const q = new Int8Array(out.buffer, out.byteOffset, out.length);
      for (let b = 0; b < count / 32; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(values[b * 32 + j] ?? 0));
        const d = amax / 127;
        const id = d ? 1 / d : 0;
        const base = b * 34;
        out.writeUInt16LE(toHalf(d), base);
        for (let j = 0; j < 32; j++) q[base + 2 + j] = Math.round((values[b * 32 + j] ?? 0) * id);
      }
      return out;
    }
  }
}

/** Writes a GGUF v3 file atomically (temp file + rename). */
export async function writeGguf(path: string, spec: GgufSpec): Promise<void> {
  const alignment = spec.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const metadata = { ...spec.metadata };
  if (alignment !== GGUF_DEFAULT_ALIGNMENT) metadata["general.alignment"] = meta.u32(alignment);
  let offset = 0;
  const infos: RawTensorInfo[] = spec.tensors.map((t) => {
    const info = { name: t.name, dims: t.dims, type: GgmlType[t.type], offset };
    const size = tensorByteSize(t.type, t.dims);
    offset += size + ((alignment - (size % alignment)) % alignment);
    return info;
  });
  const header = encodeHeader({ metadata, tensors: infos, alignment });
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const fh = await open(tmp, "w");
  try {
    await fh.write(header);
    for (const t of spec.tensors) {
      const data = encodeTensor(t);
      await fh.write(data);
      const pad = (alignment - (data.length % alignment)) % alignment;
      if (pad) await fh.write(Buffer.alloc(pad));
    }
    await fh.close();
    await rename(tmp, path);
  } catch (error) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw error;
  }
}
