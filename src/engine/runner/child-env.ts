/**
 * The environment a runner process starts with: what llama.cpp, its GPU backends and Node need,
 * and nothing else. The server's own environment may hold secrets (AIXCL_API_KEY,
 * AIXCL_DATABASE_URL, cloud credentials) that a process parsing untrusted model files has no use
 * for; an allow-list keeps them out even when new ones are added.
 */
const EXACT = new Set([
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "LANG",
  "TZ",
  "TMPDIR",
  "TMP",
  "TEMP",
  "LD_LIBRARY_PATH",
  "SYSTEMROOT", // Windows: DLL loading needs it
  "SystemRoot",
  "WINDIR",
]);

/** Prefixes of the variables that tune llama.cpp, its BLAS and its GPU runtimes, and locales. */
const PREFIXES = [
  "LC_",
  "NODE_LLAMA_CPP_",
  "GGML_",
  "LLAMA_",
  "CUDA_",
  "NVIDIA_",
  "HIP_",
  "HSA_",
  "ROCR_",
  "ROCM_",
  "VK_",
  "VULKAN_",
  "MTL_",
  "METAL_",
  "OMP_",
  "OPENBLAS_",
  "MKL_",
  "XDG_",
];

/** `source` filtered to what a runner needs, with the runner's fixed settings on top. */
export function runnerEnvironment(
  source: Readonly<Record<string, string | undefined>>,
  fixed: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined) continue;
    if (EXACT.has(name) || PREFIXES.some((prefix) => name.startsWith(prefix))) env[name] = value;
  }
  return { ...env, ...fixed };
}
