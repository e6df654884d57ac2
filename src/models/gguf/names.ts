/** Display names for GGUF facts, as Ollama shows them in `details`. */

/** llama.cpp `enum llama_ftype` (general.file_type) → the name Ollama reports as quantization_level. */
const FILE_TYPES: Readonly<Record<number, string>> = {
  0: "F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K",
  11: "Q3_K_S",
  12: "Q3_K_M",
  13: "Q3_K_L",
  14: "Q4_K_S",
  15: "Q4_K_M",
  16: "Q5_K_S",
  17: "Q5_K_M",
  18: "Q6_K",
  19: "IQ2_XXS",
  20: "IQ2_XS",
  21: "Q2_K_S",
  22: "IQ3_XS",
  23: "IQ3_XXS",
  24: "IQ1_S",
  25: "IQ4_NL",
  26: "IQ3_S",
  27: "IQ3_M",
  28: "IQ2_S",
  29: "IQ2_M",
  30: "IQ4_XS",
  31: "IQ1_M",
  32: "BF16",
  36: "TQ1_0",
  37: "TQ2_0",
  38: "MXFP4",
  39: "NVFP4",
  40: "Q1_0",
  41: "Q2_0",
};

/** `general.file_type` → "Q4_K_M", "F16", …; "unknown" when absent or not a known type. */
export function quantizationName(fileType: number | undefined): string {
  if (fileType === undefined) return "unknown";
  return FILE_TYPES[fileType] ?? "unknown";
}

const UNITS: readonly [number, string][] = [
  [1e12, "T"],
  [1e9, "B"],
  [1e6, "M"],
  [1e3, "K"],
];

/** Parameter count as a short string: 120450 → "120.45K", 220120000 → "220.12M", 7615616512 → "7.62B". */
export function formatParameterCount(count: number): string {
  for (const [scale, unit] of UNITS) {
    // Compare after rounding so 999_995 reads "1.00M", not "1000.00K".
    const scaled = (count / scale).toFixed(2);
    if (Number(scaled) >= 1) return `${scaled}${unit}`;
  }
  return String(Math.max(0, Math.round(count)));
}
