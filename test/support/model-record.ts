import type { ModelRecord } from "../../src/models/types.js";

/**
 * A ModelRecord for a GGUF file used without a store (engine tests hand records to the engine
 * directly): `name:latest` in the library namespace, with a digest derived from the name.
 */
export function testRecord(name: string, modelPath: string): ModelRecord {
  return {
    name: `${name}:latest`,
    ref: { host: "registry.ollama.ai", namespace: "library", model: name, tag: "latest" },
    digest: name.padEnd(64, "0"),
    size: 1,
    modifiedAt: new Date(),
    modelPath,
    modelDigest: `sha256:${name}`,
    params: {},
    details: {
      parent_model: "",
      format: "gguf",
      family: "llama",
      families: ["llama"],
      parameter_size: "",
      quantization_level: "F32",
    },
  };
}
