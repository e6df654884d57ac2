import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatParameterCount, quantizationName, readGgufInfo } from "../src/models/gguf/reader.js";
import { GGML_TYPES, GgmlType } from "../src/models/gguf/types.js";
import { encodeHeader, meta, toHalf, writeGguf } from "./support/gguf-writer.js";
import type { MetaEntry } from "./support/gguf-writer.js";
import { tinyModel } from "./support/test-models.js";
import { tempGgufDir } from "./support/temp-gguf-dir.js";

const tmp = tempGgufDir();
const { file } = tmp;

/** binary16 bits → number, independent of the writer's encoder. */
function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
describe("readGgufInfo on valid files", () => {
  it("reads a generated model back: metadata, tensors, parameter count", async () => {
    const path = await tinyModel();
    const info = await readGgufInfo(path);
    expect(info.version).toBe(3);
    expect(info.architecture).toBe("llama");
    expect(info.fileType).toBe(1);
    expect(quantizationName(info.fileType)).toBe("F16");
    expect(info.alignment).toBe(32);
    expect(info.dataOffset % 32n).toBe(0n);
    expect(info.fileSize).toBe(BigInt((await readFile(path)).length));
    const tokens = info.metadata["tokenizer.ggml.tokens"] as string[];
    expect(tokens.slice(0, 3)).toEqual(["<unk>", "<s>", "</s>"]);
    expect((info.metadata["tokenizer.ggml.scores"] as number[]).length).toBe(tokens.length);
    expect(info.metadata["llama.attention.head_count"]).toBe(4);
    expect(info.metadata["llama.attention.layer_norm_rms_epsilon"]).toBeCloseTo(1e-5, 10);
    expect(info.metadata["tokenizer.ggml.add_bos_token"]).toBe(true);
    expect(info.tensors).toHaveLength(2 * 9 + 3);
    const embd = info.tensors.find((t) => t.name === "token_embd.weight");
    expect(embd).toEqual({
      name: "token_embd.weight",
      dims: [64, tokens.length],
      type: 1,
      offset: 0n,
      sizeBytes: BigInt(64 * tokens.length * 2),
    });
    const expected = 2 * 64 * tokens.length + 2 * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64;
    expect(info.parameterCount).toBe(expected);
    expect(formatParameterCount(info.parameterCount)).toBe(`${(expected / 1000).toFixed(2)}K`);
  });

  it("reads every metadata value type, 64-bit values and a v2 file", async () => {
    const metadata: Record<string, MetaEntry> = {
      "general.architecture": meta.str("test"),
      u8: meta.u8(255),
      i8: meta.i8(-128),
      u16: meta.u16(65535),
      i16: meta.i16(-32768),
      u32: meta.u32(4294967295),
      i32: meta.i32(-2147483648),
      f32: meta.f32(0.5),
      f64: meta.f64(-1.25),
      bool: meta.bool(false),
      u64small: meta.u64(42),
      u64big: meta.u64(2n ** 64n - 1n),
      i64: meta.i64(-(2n ** 63n)),
      str: meta.str("héllo ✓"),
      bools: meta.array("bool", [true, false]),
      empty: meta.strings([]),
    };
    for (const version of [2, 3]) {
      const info = await readGgufInfo(await file(encodeHeader({ version, metadata, tensors: [] })));
      expect(info.version).toBe(version);
      expect({ ...info.metadata }).toEqual({
        "general.architecture": "test",
        u8: 255,
        i8: -128,
        u16: 65535,
        i16: -32768,
        u32: 4294967295,
        i32: -2147483648,
        f32: 0.5,
        f64: -1.25,
        bool: false,
        u64small: 42,
        u64big: 2n ** 64n - 1n,
        i64: -(2n ** 63n),
        str: "héllo ✓",
        bools: [true, false],
        empty: [],
      });
      expect(info.parameterCount).toBe(0);
      expect(info.fileType).toBeUndefined();
    }
  });

  it("honours general.alignment and a long chat template", async () => {
    const path = join(tmp.path, "aligned.gguf");
    const template = "x".repeat(2 * 1024 * 1024);
    await writeGguf(path, {
      metadata: { "general.architecture": meta.str("llama"), "tokenizer.chat_template": meta.str(template) },
      tensors: [
        { name: "a", dims: [32, 2], type: "Q8_0", values: () => new Float32Array(64).fill(0.5) },
        { name: "b", dims: [3], type: "F16", values: () => new Float32Array(3) },
      ],
      alignment: 64,
    });
    const info = await readGgufInfo(path);
    expect(info.alignment).toBe(64);
    expect(info.dataOffset % 64n).toBe(0n);
    expect(info.tensors.map((t) => [t.offset, t.sizeBytes])).toEqual([
      [0n, 68n],
      [128n, 6n],
    ]);
    expect(info.metadata["tokenizer.chat_template"]).toBe(template);
  });
});

describe("names", () => {
  it("formats parameter counts the Ollama way", () => {
    expect(formatParameterCount(120_450)).toBe("120.45K");
    expect(formatParameterCount(220_120_000)).toBe("220.12M");
    expect(formatParameterCount(7_615_616_512)).toBe("7.62B");
    expect(formatParameterCount(1_500_000_000_000)).toBe("1.50T");
    expect(formatParameterCount(999_995)).toBe("1.00M");
    expect(formatParameterCount(812)).toBe("812");
  });

  it("names llama.cpp file types and knows ggml block sizes", () => {
    expect([0, 1, 2, 7, 15, 18, 32].map(quantizationName)).toEqual([
      "F32",
      "F16",
      "Q4_0",
      "Q8_0",
      "Q4_K_M",
      "Q6_K",
      "BF16",
    ]);
    expect(quantizationName(undefined)).toBe("unknown");
    expect(quantizationName(4)).toBe("unknown");
    expect(GGML_TYPES[GgmlType.Q4_K]).toEqual({ name: "Q4_K", blockSize: 256, typeSize: 144 });
    expect(GGML_TYPES[GgmlType.Q8_0]).toEqual({ name: "Q8_0", blockSize: 32, typeSize: 34 });
  });
});

describe("GGUF writer", () => {
  it("encodes binary16 like IEEE 754", () => {
    expect([1, -2, 0.5, 65504, 1e6, -1e6, 0].map(toHalf)).toEqual([
      0x3c00, 0xc000, 0x3800, 0x7bff, 0x7c00, 0xfc00, 0,
    ]);
    expect(toHalf(NaN) & 0x7c00).toBe(0x7c00);
    expect(toHalf(NaN) & 0x3ff).not.toBe(0);
    // Subnormals: steps of 2^-24, rounded to nearest.
    expect([1e-7, 3e-5, 6.1e-5].map(toHalf)).toEqual([2, 503, 0x3ff]);
    expect(fromHalf(toHalf(0.1))).toBeCloseTo(0.1, 4);
  });

  it("writes F32, F16 and Q8_0 tensor data that decodes back to the values", async () => {
    const values = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * (i < 32 ? 1 : 0.01));
    const path = join(tmp.path, "roundtrip.gguf");
    await writeGguf(path, {
      metadata: { "general.architecture": meta.str("test") },
      tensors: (["F32", "F16", "Q8_0"] as const).map((type) => ({
        name: type,
        dims: [32, 2],
        type,
        values: () => values,
      })),
    });
    const info = await readGgufInfo(path);
    expect(info.tensors.map((t) => [t.name, t.type, t.sizeBytes])).toEqual([
      ["F32", GgmlType.F32, 256n],
      ["F16", GgmlType.F16, 128n],
      ["Q8_0", GgmlType.Q8_0, 68n],
    ]);
    const fh = await open(path, "r");
    const data = async (index: number) => {
      const t = info.tensors[index]!;
      const buf = Buffer.alloc(Number(t.sizeBytes));
      await fh.read(buf, 0, buf.length, Number(info.dataOffset + t.offset));
      return buf;
    };
    try {
      const f32 = await data(0);
      const f16 = await data(1);
      const q8 = await data(2);
      for (let i = 0; i < 64; i++) {
        const v = values[i]!;
        expect(f32.readFloatLE(i * 4)).toBe(v);
        expect(fromHalf(f16.readUInt16LE(i * 2))).toBeCloseTo(v, 3);
        const block = Math.floor(i / 32);
        const d = fromHalf(q8.readUInt16LE(block * 34));
        const amax = Math.max(...values.slice(block * 32, block * 32 + 32).map(Math.abs));
        expect(d).toBeCloseTo(amax / 127, 5);
        expect(Math.abs(d * q8.readInt8(block * 34 + 2 + (i % 32)) - v)).toBeLessThanOrEqual(d / 2 + 1e-6);
      }
    } finally {
      await fh.close();
    }
  });
});
