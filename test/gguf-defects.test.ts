import { describe, expect, it } from "vitest";
import { AppError } from "../src/errors.js";
import { GGUF_LIMITS, readGgufInfo } from "../src/models/gguf/reader.js";
import { GgmlType } from "../src/models/gguf/types.js";
import { ByteSink, encodeHeader, meta } from "./support/gguf-writer.js";
import type { MetaEntry, RawTensorInfo } from "./support/gguf-writer.js";
import { tempGgufDir } from "./support/temp-gguf-dir.js";

const tmp = tempGgufDir();
const { file } = tmp;

const BASE: Record<string, MetaEntry> = {
  "general.architecture": meta.str("llama"),
  "general.name": meta.str("defects"),
  "general.file_type": meta.u32(0),
  "key.three": meta.str("value three"),
  "tokenizer.ggml.tokens": meta.strings(["a", "b", "c"]),
};

/** One F32 tensor of `n` floats per entry, laid out as llama.cpp expects, plus its data. */
function withTensors(
  names: string[],
  n = 8,
  metadata = BASE,
  patch: (infos: RawTensorInfo[]) => void = () => undefined,
): Buffer {
  const padded = Math.ceil((n * 4) / 32) * 32;
  const tensors: RawTensorInfo[] = names.map((name, i) => ({
    name,
    dims: [n],
    type: GgmlType.F32,
    offset: i * padded,
  }));
  patch(tensors);
  return Buffer.concat([encodeHeader({ metadata, tensors }), Buffer.alloc(padded * names.length)]);
}

/**
 * Asserts rejection with code invalid_gguf and the message, within 1 s of this process's CPU
 * time. Wall time would measure whatever else the shared cores run (other test files, CI jobs),
 * while a reader that looped over an absurd count would burn its own CPU for far longer. The
 * bound is loose because process CPU also counts the garbage collector's and the compiler's
 * threads: one rejection of a few hundred bytes read 107 ms in a CI run.
 */
async function rejects(bytes: Uint8Array, message: RegExp): Promise<void> {
  const path = await file(bytes);
  const start = process.cpuUsage();
  const error = await readGgufInfo(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  const used = process.cpuUsage(start);
  const elapsed = (used.user + used.system) / 1000;
  expect(error).toBeInstanceOf(AppError);
  expect((error as AppError).code).toBe("invalid_gguf");
  expect((error as AppError).message).toMatch(/^invalid GGUF: /);
  expect((error as AppError).message).toMatch(message);
  expect(elapsed).toBeLessThan(1000);
}

/** A header whose fields are written one by one, for defects encodeHeader cannot express. */
function raw(build: (s: ByteSink) => void): Buffer {
  const s = new ByteSink();
  s.u32(0x46554747).u32(3);
  build(s);
  return s.toBuffer();
}

describe("readGgufInfo rejects defects with a specific error", () => {
  it("wrong magic", async () => {
    await rejects(Buffer.from("GGUX\x03\0\0\0"), /bad magic/);
    await rejects(
      Buffer.from("PK\x03\x04 not a model at all, but long enough to hold a header"),
      /bad magic/,
    );
    await rejects(Buffer.from("G"), /truncated in header/);
  });

  it("unsupported version", async () => {
    await rejects(withTensors([]).fill(1, 4, 5), /unsupported version 1/);
    const bigEndian = withTensors([]);
    bigEndian.writeUInt32BE(3, 4);
    await rejects(bigEndian, /unsupported version 50331648/);
  });

  it("truncated files, at every byte", async () => {
    const whole = withTensors(["t0", "t1"]);
    for (let cut = 0; cut < whole.length; cut++) {
      await rejects(whole.subarray(0, cut), /truncated|exceeds? file size|past end of file|bad magic/);
    }
    const keyThree = whole.indexOf("key.three") - 8;
    await rejects(whole.subarray(0, keyThree + 4), /truncated in metadata key 3$/);
    await rejects(whole.subarray(0, whole.indexOf("t1") + 4), /truncated in tensor info 1$/);
  });

  it("absurd metadata and tensor counts", async () => {
    await rejects(
      raw((s) => s.u64(0).u64(2n ** 63n)),
      new RegExp(`metadata count 9223372036854775808 exceeds limit ${GGUF_LIMITS.maxMetadataCount}`),
    );
    await rejects(
      raw((s) => s.u64(2n ** 64n - 1n).u64(1)),
      /tensor count 18446744073709551615 exceeds limit/,
    );
    await rejects(
      raw((s) => s.u64(1000).u64(60_000)),
      /metadata count 60000 and tensor count 1000 exceed file size/,
    );
  });

  it("absurd string lengths", async () => {
    await rejects(
      raw((s) => s.u64(0).u64(1).u64(1e12).bytes(new Uint8Array(64))),
      /string length 1000000000000 exceeds file size in metadata key 0$/,
    );
    const huge = "v".repeat(GGUF_LIMITS.maxStringLength + 1);
    await rejects(
      encodeHeader({ metadata: { ...BASE, "general.description": meta.str(huge) }, tensors: [] }),
      /string length 1048577 exceeds limit 1048576 in metadata value general.description/,
    );
    await rejects(
      raw((s) =>
        s
          .u64(1)
          .u64(0)
          .u64(2n ** 64n - 1n)
          .bytes(new Uint8Array(64)),
      ),
      /string length 18446744073709551615 exceeds file size in tensor info 0/,
    );
    await rejects(withTensors(["x".repeat(64)]), /tensor name x{64} is longer than 63 bytes/);
  });

  it("absurd array lengths and nested arrays", async () => {
    const arrayOf = (type: number, count: bigint) =>
      raw((s) => s.u64(0).u64(1).str("arr").u32(9).u32(type).u64(count).bytes(new Uint8Array(64)));
    await rejects(
      arrayOf(8, 2n ** 62n),
      /array length 4611686018427387904 exceeds file size in metadata value arr/,
    );
    await rejects(arrayOf(10, 2n ** 61n), /array length 2305843009213693952 exceeds file size/);
    const limit = GGUF_LIMITS.maxArrayLength + 1;
    const big = Buffer.concat([arrayOf(0, BigInt(limit)), Buffer.alloc(limit)]);
    await rejects(big, new RegExp(`array length ${limit} exceeds limit`));
    await rejects(
      encodeHeader({ metadata: { ...BASE, nested: meta.arrays([meta.i32s([1])]) }, tensors: [] }),
      /nested arrays are not supported in metadata value nested/,
    );
  });

  it("unknown value and tensor types", async () => {
    await rejects(
      raw((s) => s.u64(0).u64(1).str("k").u32(99).u64(0)),
      /unknown value type 99 in metadata value k/,
    );
    await rejects(
      raw((s) => s.u64(0).u64(1).str("k").u32(9).u32(13).u64(1).u64(0)),
      /unknown array item type 13 in metadata value k/,
    );
    for (const type of [4, 5, 31, 43, 2 ** 32 - 1]) {
      await rejects(
        withTensors(["w"], 8, BASE, (t) => (t[0]!.type = type)),
        new RegExp(`tensor w has unknown type ${type}`),
      );
    }
  });

  it("tensor data past the end of the file", async () => {
    const whole = withTensors(["blk.0.attn_q.weight"], 64);
    await rejects(whole.subarray(0, whole.length - 1), /tensor blk\.0\.attn_q\.weight data past end of file/);
    await rejects(
      withTensors(["blk.0.attn_q.weight"], 8, BASE, (t) => (t[0]!.dims = [2 ** 40])),
      /tensor blk\.0\.attn_q\.weight data past end of file/,
    );
    await rejects(
      withTensors(["a", "b"], 8, BASE, (t) => (t[1]!.offset = 2n ** 63n)),
      /tensor b data past end of file/,
    );
  });

  it("bad alignment", async () => {
    await rejects(
      withTensors(["a", "b"], 8, BASE, (t) => (t[1]!.offset = 16)),
      /tensor b offset 16 is not aligned to 32/,
    );
    await rejects(
      withTensors([], 8, { ...BASE, "general.alignment": meta.u32(48) }),
      /alignment 48 is not a power of 2/,
    );
    await rejects(
      withTensors([], 8, { ...BASE, "general.alignment": meta.u32(0) }),
      /alignment 0 is not a power of 2/,
    );
    await rejects(
      withTensors([], 8, { ...BASE, "general.alignment": meta.u64(32) }),
      /general\.alignment must be a uint32/,
    );
  });

  it("bad shapes and layouts", async () => {
    await rejects(
      withTensors(["w"], 8, BASE, (t) => (t[0]!.dims = [1, 1, 1, 1, 1])),
      /tensor w has 5 dimensions \(max 4\)/,
    );
    await rejects(
      withTensors(["w"], 8, BASE, (t) => (t[0]!.dims = [8, -1n & (2n ** 64n - 1n)])),
      /tensor w dimension 1 is negative/,
    );
    await rejects(
      withTensors(["w"], 8, BASE, (t) => (t[0]!.dims = [2 ** 32, 2 ** 32])),
      /tensor w element count overflows/,
    );
    await rejects(
      withTensors(["w"], 8, BASE, (t) => {
        t[0]!.type = GgmlType.Q8_0;
        t[0]!.dims = [33];
      }),
      /tensor w row of 33 elements is not a multiple of Q8_0 block size 32/,
    );
    await rejects(
      withTensors(["a", "b"], 8, BASE, (t) => (t[1]!.offset = 0)),
      /tensor b offset 0 overlaps or leaves a gap \(expected 32\)/,
    );
    await rejects(withTensors(["a", "a"]), /duplicate tensor name a/);
  });

  it("bad keys and missing architecture", async () => {
    await rejects(
      raw((s) => s.u64(0).u64(2).str("k").u32(4).u32(1).str("k").u32(4).u32(2)),
      /duplicate metadata key k/,
    );
    await rejects(
      raw((s) => s.u64(0).u64(1).str("").u32(4).u32(1)),
      /metadata key 0 is empty/,
    );
    const { "general.architecture": _, ...rest } = BASE;
    await rejects(withTensors([], 8, rest), /missing general\.architecture/);
    // A key named __proto__ is stored as data, not as the object's prototype.
    const proto = await readGgufInfo(
      await file(encodeHeader({ metadata: { ...BASE, ["__proto__"]: meta.str("x") }, tensors: [] })),
    );
    expect(Object.hasOwn(proto.metadata, "__proto__")).toBe(true);
  });

  it("rejects absurd headers repeatedly without memory growth", async () => {
    const files = await Promise.all([
      file(raw((s) => s.u64(0).u64(2n ** 63n))),
      file(
        raw((s) =>
          s
            .u64(0)
            .u64(1)
            .u64(2n ** 63n)
            .bytes(new Uint8Array(64)),
        ),
      ),
      file(
        raw((s) =>
          s
            .u64(0)
            .u64(1)
            .str("arr")
            .u32(9)
            .u32(8)
            .u64(2n ** 62n),
        ),
      ),
      file(withTensors(["w"], 8, BASE, (t) => (t[0]!.dims = [2 ** 40, 2 ** 20]))),
    ]);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 200; i++) {
      for (const path of files)
        await expect(readGgufInfo(path)).rejects.toMatchObject({ code: "invalid_gguf" });
    }
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(64 * 1024 * 1024);
  });

  it("random corruption of a valid header only ever yields a result or invalid_gguf", async () => {
    const whole = withTensors(["a", "b", "c"], 16);
    const headerEnd = whole.length - 3 * 64;
    let seed = 12345;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const outcomes = { ok: 0, rejected: 0 };
    for (let i = 0; i < 400; i++) {
      const copy = Buffer.from(whole);
      for (let k = 0; k < 1 + (next() % 4); k++) copy[8 + (next() % (headerEnd - 8))] = next() & 0xff;
      const error = await readGgufInfo(await file(copy)).then(
        () => undefined,
        (e: unknown) => e,
      );
      if (error === undefined) outcomes.ok++;
      else {
        expect(error).toMatchObject({ code: "invalid_gguf" });
        outcomes.rejected++;
      }
    }
    // Both branches are exercised: some bytes (names, values) may change harmlessly.
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(100);
  });
});
