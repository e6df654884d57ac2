/**
 * GGUF constants and shapes shared by the reader (and the test-model writer). Numbers follow
 * ggml.h / gguf.h / ggml-common.h of the llama.cpp that node-llama-cpp bundles.
 */

/** "GGUF" read as a little-endian uint32. */
export const GGUF_MAGIC = 0x46554747;
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value type ids (gguf.h `enum gguf_type`). */
export const GgufType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

/** Byte size of each fixed-size metadata value type (STRING and ARRAY are variable). */
export const GGUF_SCALAR_SIZE: Readonly<Record<number, number>> = {
  [GgufType.UINT8]: 1,
  [GgufType.INT8]: 1,
  [GgufType.UINT16]: 2,
  [GgufType.INT16]: 2,
  [GgufType.UINT32]: 4,
  [GgufType.INT32]: 4,
  [GgufType.FLOAT32]: 4,
  [GgufType.BOOL]: 1,
  [GgufType.UINT64]: 8,
  [GgufType.INT64]: 8,
  [GgufType.FLOAT64]: 8,
};

/** ggml tensor type: elements per block and bytes per block. */
export interface GgmlTypeInfo {
  name: string;
  blockSize: number;
  typeSize: number;
}

const QK_K = 256;

/**
 * Tensor types a GGUF file may hold (ggml.h `enum ggml_type`). Ids removed from llama.cpp
 * (4, 5, 31–33, 36–38) are absent on purpose: llama.cpp rejects them, so must we.
 */
export const GGML_TYPES: Readonly<Record<number, GgmlTypeInfo>> = {
  0: { name: "F32", blockSize: 1, typeSize: 4 },
  1: { name: "F16", blockSize: 1, typeSize: 2 },
  2: { name: "Q4_0", blockSize: 32, typeSize: 18 },
  3: { name: "Q4_1", blockSize: 32, typeSize: 20 },
  6: { name: "Q5_0", blockSize: 32, typeSize: 22 },
  7: { name: "Q5_1", blockSize: 32, typeSize: 24 },
  8: { name: "Q8_0", blockSize: 32, typeSize: 34 },
  9: { name: "Q8_1", blockSize: 32, typeSize: 36 },
  10: { name: "Q2_K", blockSize: QK_K, typeSize: 84 },
  11: { name: "Q3_K", blockSize: QK_K, typeSize: 110 },
  12: { name: "Q4_K", blockSize: QK_K, typeSize: 144 },
  13: { name: "Q5_K", blockSize: QK_K, typeSize: 176 },
  14: { name: "Q6_K", blockSize: QK_K, typeSize: 210 },
  15: { name: "Q8_K", blockSize: QK_K, typeSize: 292 },
  16: { name: "IQ2_XXS", blockSize: QK_K, typeSize: 66 },
  17: { name: "IQ2_XS", blockSize: QK_K, typeSize: 74 },
  18: { name: "IQ3_XXS", blockSize: QK_K, typeSize: 98 },
  19: { name: "IQ1_S", blockSize: QK_K, typeSize: 50 },
  20: { name: "IQ4_NL", blockSize: 32, typeSize: 18 },
  21: { name: "IQ3_S", blockSize: QK_K, typeSize: 110 },
  22: { name: "IQ2_S", blockSize: QK_K, typeSize: 82 },
  23: { name: "IQ4_XS", blockSize: QK_K, typeSize: 136 },
  24: { name: "I8", blockSize: 1, typeSize: 1 },
  25: { name: "I16", blockSize: 1, typeSize: 2 },
  26: { name: "I32", blockSize: 1, typeSize: 4 },
  27: { name: "I64", blockSize: 1, typeSize: 8 },
  28: { name: "F64", blockSize: 1, typeSize: 8 },
  29: { name: "IQ1_M", blockSize: QK_K, typeSize: 56 },
  30: { name: "BF16", blockSize: 1, typeSize: 2 },
  34: { name: "TQ1_0", blockSize: QK_K, typeSize: 54 },
  35: { name: "TQ2_0", blockSize: QK_K, typeSize: 66 },
  39: { name: "MXFP4", blockSize: 32, typeSize: 17 },
  40: { name: "NVFP4", blockSize: 64, typeSize: 36 },
  41: { name: "Q1_0", blockSize: 128, typeSize: 18 },
  42: { name: "Q2_0", blockSize: 64, typeSize: 18 },
};

/** Tensor type ids by name, for writers and tests. */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  BF16: 30,
} as const;

export type GgufValue = string | number | bigint | boolean | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** Dimensions in ggml order (ne0 first). */
  dims: number[];
  /** ggml tensor type id (see GGML_TYPES). */
  type: number;
  /** Offset of the tensor data relative to `dataOffset`. */
  offset: bigint;
  sizeBytes: bigint;
}

export interface GgufInfo {
  version: number;
  /**
   * Every key/value pair; arrays kept whole (vocabularies included). A null-prototype object, so
   * file-chosen keys like "__proto__" stay data: use `in` or Object.hasOwn, not hasOwnProperty.
   * 64-bit integers are numbers when exact, bigint otherwise.
   */
  metadata: Record<string, GgufValue>;
  tensors: GgufTensorInfo[];
  /** `general.architecture`. */
  architecture: string;
  /** Sum of tensor element counts. */
  parameterCount: number;
  /** `general.file_type` (llama.cpp LLAMA_FTYPE), when present. */
  fileType: number | undefined;
  alignment: number;
  /** Absolute file offset of the tensor data section. */
  dataOffset: bigint;
  fileSize: bigint;
}
