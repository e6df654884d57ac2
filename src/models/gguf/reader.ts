/**
 * Hardened GGUF header reader. llama.cpp and Ollama both had CVEs from trusting counts, string
 * lengths and offsets in GGUF headers, and a malformed file can abort llama.cpp outright, so
 * every model file is validated here first. Each count and length is checked against the bytes
 * left in the file (BigInt arithmetic, before anything is allocated) and against a fixed cap;
 * tensor layouts are checked the way llama.cpp's gguf.cpp checks them. Any defect throws
 * AppError("invalid_gguf", "invalid GGUF: <what and where>").
 */
import { open } from "node:fs/promises";
import { FileCursor, invalidGguf } from "./cursor.js";
import { GGML_TYPES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_SCALAR_SIZE, GgufType } from "./types.js";
import type { GgufInfo, GgufTensorInfo, GgufValue } from "./types.js";

export type { GgufInfo, GgufValue } from "./types.js";
export { formatParameterCount, quantizationName } from "./names.js";

const MiB = 1024 * 1024;

/**
 * Caps, far above any real model and far below what would exhaust memory. The largest real
 * vocabularies are ~262k tokens with ~500k merges; real headers hold < 100 keys and a few
 * thousand tensors; real chat templates are < 100 KB.
 */
export const GGUF_LIMITS = {
  /** Key/value pairs in the header. */
  maxMetadataCount: 65_536,
  maxTensorCount: 65_536,
  /** Bytes; the GGUF spec caps keys at 65535 bytes. */
  maxKeyLength: 65_535,
  /** Bytes of one string value (including each vocabulary entry). */
  maxStringLength: 1 * MiB,
  /** Bytes of a `tokenizer.chat_template*` value: templates with embedded tool docs run long. */
  maxTemplateLength: 4 * MiB,
  /** Elements of one array. */
  maxArrayLength: 4 * MiB,
  /** Elements of all arrays together: bounds the JS memory a header can make us hold. */
  maxTotalArrayElements: 16 * MiB,
  /** Bytes of all strings together. */
  maxTotalStringBytes: 256 * MiB,
  /** ggml's GGML_MAX_NAME is 64 including the terminating NUL. */
  maxTensorNameLength: 63,
  /** ggml's GGML_MAX_DIMS. */
  maxDims: 4,
} as const;

const INT64_MAX = (1n << 63n) - 1n;
/** Smallest possible key/value pair: 8-byte length + 1-byte key + 4-byte type + 1-byte value. */
const MIN_KV_BYTES = 14n;
/** Smallest possible tensor info: name length, n_dims, type, offset. */
const MIN_TENSOR_INFO_BYTES = 24n;

/** Makes file-supplied names safe to put in an error message. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 80 ? `${clean.slice(0, 80)}…` : clean;
}

interface Budget {
  arrayElements: number;
  stringBytes: number;
}

async function readString(c: FileCursor, limit: number, budget: Budget): Promise<string> {
  const pending = c.need(8);
  if (pending) await pending;
  const length = c.u64();
  if (length > c.remaining) throw invalidGguf(`string length ${length} exceeds file size in ${c.where}`);
  if (length > BigInt(limit))
    throw invalidGguf(`string length ${length} exceeds limit ${limit} in ${c.where}`);
  budget.stringBytes += Number(length);
  if (budget.stringBytes > GGUF_LIMITS.maxTotalStringBytes) {
    throw invalidGguf(`strings exceed ${GGUF_LIMITS.maxTotalStringBytes} bytes in total at ${c.where}`);
  }
  return c.utf8(Number(length));
}

/** Keeps 64-bit integers as numbers when they are exact, so callers rarely see bigint. */
function int64Value(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

async function readScalar(c: FileCursor, type: number): Promise<GgufValue> {
  const size = GGUF_SCALAR_SIZE[type];
  if (size === undefined) throw invalidGguf(`unknown value type ${type} in ${c.where}`);
  const pending = c.need(size);
  if (pending) await pending;
  switch (type) {
    case GgufType.UINT8:
      return c.u8();
    case GgufType.INT8:
      return c.i8();
    case GgufType.UINT16:
      return c.u16();
    case GgufType.INT16:
      return c.i16();
    case GgufType.UINT32:
      return c.u32();
    case GgufType.INT32:
      return c.i32();
    case GgufType.FLOAT32:
      return c.f32();
    case GgufType.BOOL:
      return c.u8() !== 0;
    case GgufType.UINT64:
      return int64Value(c.u64());
    case GgufType.INT64:
      return int64Value(c.i64());
    case GgufType.FLOAT64:
      return c.f64();
    default:
      throw invalidGguf(`unknown value type ${type} in ${c.where}`);
  }
}

async function readArray(c: FileCursor, budget: Budget, stringLimit: number): Promise<GgufValue[]> {
  const pending = c.need(12);
  if (pending) await pending;
  const itemType = c.u32();
  const count = c.u64();
  // llama.cpp rejects arrays of arrays, so a file holding one could never load.
  if (itemType === GgufType.ARRAY) throw invalidGguf(`nested arrays are not supported in ${c.where}`);
  const itemSize = itemType === GgufType.STRING ? 8 : GGUF_SCALAR_SIZE[itemType];
  if (itemSize === undefined) throw invalidGguf(`unknown array item type ${itemType} in ${c.where}`);
  if (count * BigInt(itemSize) > c.remaining)
    throw invalidGguf(`array length ${count} exceeds file size in ${c.where}`);
  if (count > BigInt(GGUF_LIMITS.maxArrayLength)) {
    throw invalidGguf(`array length ${count} exceeds limit ${GGUF_LIMITS.maxArrayLength} in ${c.where}`);
  }
  const n = Number(count);
  budget.arrayElements += n;
  if (budget.arrayElements > GGUF_LIMITS.maxTotalArrayElements) {
    throw invalidGguf(`arrays exceed ${GGUF_LIMITS.maxTotalArrayElements} elements in total at ${c.where}`);
  }
  const items: GgufValue[] = new Array<GgufValue>(n);
  if (itemType === GgufType.STRING) {
    for (let i = 0; i < n; i++) items[i] = await readString(c, stringLimit, budget);
  } else {
    for (let i = 0; i < n; i++) items[i] = await readScalar(c, itemType);
  }
  return items;
}

async function readValue(c: FileCursor, type: number, key: string, budget: Budget): Promise<GgufValue> {
  const stringLimit = key.startsWith("tokenizer.chat_template")
    ? GGUF_LIMITS.maxTemplateLength
    : GGUF_LIMITS.maxStringLength;
  if (type === GgufType.STRING) return readString(c, stringLimit, budget);
  if (type === GgufType.ARRAY) return readArray(c, budget, GGUF_LIMITS.maxStringLength);
  return readScalar(c, type);
}

async function readHeaderStart(
  c: FileCursor,
): Promise<{ version: number; tensorCount: bigint; kvCount: bigint }> {
  const head = Math.min(4, Number(c.fileSize));
  const pending = c.need(head);
  if (pending) await pending;
  const magic = Buffer.alloc(4);
  for (let i = 0; i < head; i++) magic[i] = c.u8();
  if (head < 4) {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(GGUF_MAGIC);
    throw invalidGguf(
      magic.subarray(0, head).equals(prefix.subarray(0, head)) ? "truncated in header" : "bad magic",
    );
  }
  if (magic.readUInt32LE(0) !== GGUF_MAGIC) throw invalidGguf("bad magic");
  const p = c.need(20);
  if (p) await p;
  const version = c.u32();
  // v1 used 32-bit counts and is long gone; a byte-swapped version means a big-endian file.
  if (version !== 2 && version !== 3) throw invalidGguf(`unsupported version ${version}`);
  const tensorCount = c.u64();
  const kvCount = c.u64();
  if (kvCount > GGUF_LIMITS.maxMetadataCount) {
    throw invalidGguf(`metadata count ${kvCount} exceeds limit ${GGUF_LIMITS.maxMetadataCount}`);
  }
  if (tensorCount > GGUF_LIMITS.maxTensorCount) {
    throw invalidGguf(`tensor count ${tensorCount} exceeds limit ${GGUF_LIMITS.maxTensorCount}`);
  }
  if (kvCount * MIN_KV_BYTES + tensorCount * MIN_TENSOR_INFO_BYTES > c.remaining) {
    throw invalidGguf(`metadata count ${kvCount} and tensor count ${tensorCount} exceed file size`);
  }
  return { version, tensorCount, kvCount };
}

async function readMetadata(
  c: FileCursor,
  kvCount: number,
  budget: Budget,
): Promise<{ metadata: Record<string, GgufValue>; alignment: number }> {
  // Null prototype: keys come from the file and must not reach Object.prototype ("__proto__").
  const metadata = Object.create(null) as Record<string, GgufValue>;
  let alignment = GGUF_DEFAULT_ALIGNMENT;
  for (let i = 0; i < kvCount; i++) {
    c.where = `metadata key ${i}`;
    const key = await readString(c, GGUF_LIMITS.maxKeyLength, budget);
    if (key.length === 0) throw invalidGguf(`metadata key ${i} is empty`);
    if (Object.hasOwn(metadata, key)) throw invalidGguf(`duplicate metadata key ${printable(key)}`);
    const pending = c.need(4);
    if (pending) await pending;
    const type = c.u32();
    c.where = `metadata value ${printable(key)}`;
    const value = await readValue(c, type, key, budget);
    if (key === "general.alignment") {
      if (type !== GgufType.UINT32) throw invalidGguf("general.alignment must be a uint32");
      const a = value as number;
      if (a === 0 || (a & (a - 1)) !== 0) throw invalidGguf(`alignment ${a} is not a power of 2`);
      alignment = a;
    }
    metadata[key] = value;
  }
  return { metadata, alignment };
}

interface RawTensor extends GgufTensorInfo {
  elements: bigint;
}

async function readTensorInfo(
  c: FileCursor,
  index: number,
  seen: Set<string>,
  budget: Budget,
): Promise<RawTensor> {
  c.where = `tensor info ${index}`;
  const name = await readString(c, GGUF_LIMITS.maxKeyLength, budget);
  const label = printable(name);
  if (Buffer.byteLength(name) > GGUF_LIMITS.maxTensorNameLength) {
    throw invalidGguf(`tensor name ${label} is longer than ${GGUF_LIMITS.maxTensorNameLength} bytes`);
  }
  if (seen.has(name)) throw invalidGguf(`duplicate tensor name ${label}`);
  seen.add(name);
  const p = c.need(4);
  if (p) await p;
  const nDims = c.u32();
  if (nDims > GGUF_LIMITS.maxDims) {
    throw invalidGguf(`tensor ${label} has ${nDims} dimensions (max ${GGUF_LIMITS.maxDims})`);
  }
  const rest = c.need(8 * nDims + 12);
  if (rest) await rest;
  const dims: number[] = [];
  let elements = 1n;
  for (let j = 0; j < nDims; j++) {
    const d = c.i64();
    if (d < 0n) throw invalidGguf(`tensor ${label} dimension ${j} is negative`);
    elements *= d;
    if (elements > INT64_MAX) throw invalidGguf(`tensor ${label} element count overflows`);
    dims.push(Number(d));
  }
  const type = c.u32();
  const offset = c.u64();
  const info = GGML_TYPES[type];
  if (!info) throw invalidGguf(`tensor ${label} has unknown type ${type}`);
  const ne0 = BigInt(dims[0] ?? 1);
  if (ne0 % BigInt(info.blockSize) !== 0n) {
    throw invalidGguf(
      `tensor ${label} row of ${ne0} elements is not a multiple of ${info.name} block size ${info.blockSize}`,
    );
  }
  const sizeBytes = (elements / BigInt(info.blockSize)) * BigInt(info.typeSize);
  return { name, dims, type, offset, sizeBytes, elements };
}

function alignUp(value: bigint, alignment: bigint): bigint {
  return ((value + alignment - 1n) / alignment) * alignment;
}

/** Checks alignment, bounds and the sequential layout llama.cpp requires. */
function checkLayout(tensors: RawTensor[], dataOffset: bigint, alignment: number, fileSize: bigint): void {
  const align = BigInt(alignment);
  let expected = 0n;
  for (const t of tensors) {
    const label = printable(t.name);
    if (t.offset % align !== 0n)
      throw invalidGguf(`tensor ${label} offset ${t.offset} is not aligned to ${alignment}`);
    if (dataOffset + t.offset + t.sizeBytes > fileSize)
      throw invalidGguf(`tensor ${label} data past end of file`);
    if (t.offset !== expected) {
      throw invalidGguf(`tensor ${label} offset ${t.offset} overlaps or leaves a gap (expected ${expected})`);
    }
    expected += alignUp(t.sizeBytes, align);
  }
}

/** Reads and validates a GGUF header; throws AppError("invalid_gguf", <specific message>) on any defect. */
export async function readGgufInfo(path: string): Promise<GgufInfo> {
  const fh = await open(path, "r");
  try {
    const fileSize = BigInt((await fh.stat()).size);
    const c = new FileCursor(fh, fileSize);
    const { version, tensorCount, kvCount } = await readHeaderStart(c);
    const budget: Budget = { arrayElements: 0, stringBytes: 0 };
    const { metadata, alignment } = await readMetadata(c, Number(kvCount), budget);
    const seen = new Set<string>();
    const raw: RawTensor[] = [];
    for (let i = 0; i < Number(tensorCount); i++) raw.push(await readTensorInfo(c, i, seen, budget));
    const dataOffset = alignUp(c.position, BigInt(alignment));
    checkLayout(raw, dataOffset, alignment, fileSize);

    const architecture = metadata["general.architecture"];
    if (typeof architecture !== "string" || architecture.length === 0) {
      throw invalidGguf("missing general.architecture");
    }
    const fileType = metadata["general.file_type"];
    const parameterCount = raw.reduce((sum, t) => sum + t.elements, 0n);
    return {
      version,
      metadata,
      tensors: raw.map(({ name, dims, type, offset, sizeBytes }) => ({
        name,
        dims,
        type,
        offset,
        sizeBytes,
      })),
      architecture,
      parameterCount: Number(parameterCount),
      fileType: typeof fileType === "number" ? fileType : undefined,
      alignment,
      dataOffset,
      fileSize,
    };
  } finally {
    await fh.close();
  }
}
