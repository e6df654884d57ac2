/**
 * The binaries node-llama-cpp's test has passed on this machine (./binary-test.ts), remembered
 * across processes in the user's cache directory (`$XDG_CACHE_HOME/aixcl/llama-binaries.json`,
 * else `~/.cache/aixcl/`): without it every server's first model load and every `aixcl run`
 * without a server waited ~0.5 s for the same test of the same file.
 *
 * An entry is a hash of what the test's outcome depends on: the node-llama-cpp release, the
 * binding's path, size and modification time, its backends' directory, the GPU mode, and the
 * CPU (its model and feature flags): another binary, an update of it, or the files on another
 * machine are tested again. Only passes are kept. The file is a cache: one that is missing,
 * unreadable or not ours counts as empty, and a failed write loses nothing but the time saved.
 */
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/files.js";

/** Entries kept: a machine has a few binaries (CPU variants, GPU modes); old ones drop off. */
const MAX_ENTRIES = 32;

/** What node-llama-cpp asks its test process to load. */
export interface BinaryUnderTest {
  bindingBinaryPath: string;
  extBackendsPath?: string | undefined;
  gpu: unknown;
}

export function binaryMemoPath(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.XDG_CACHE_HOME?.startsWith("/") ? env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(cache, "aixcl", "llama-binaries.json");
}

/** The CPU's model name and feature flags (Linux; node-llama-cpp tests binaries only there). */
async function cpuIdentity(): Promise<string> {
  const info = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const first = (name: string) => new RegExp(`^${name}\\s*:(.*)$`, "m").exec(info)?.[1]?.trim() ?? "";
  return `${first("model name")}|${first("flags")}`;
}

async function entryOf(release: string, binary: BinaryUnderTest): Promise<string> {
  const file = await stat(binary.bindingBinaryPath);
  const backends = binary.extBackendsPath
    ? await stat(binary.extBackendsPath).catch(() => undefined)
    : undefined;
  return createHash("sha256")
    .update(
      JSON.stringify([
        release,
        binary.bindingBinaryPath,
        file.size,
        file.mtimeMs,
        binary.extBackendsPath ?? null,
        backends?.mtimeMs ?? null,
        binary.gpu,
        await cpuIdentity(),
      ]),
    )
    .digest("hex");
}

async function readEntries(path: string): Promise<string[]> {
  try {
    const parsed = JSON.parse(await readFile(path, "utf8")) as { passed?: unknown };
    return Array.isArray(parsed.passed)
      ? parsed.passed.filter((e): e is string => typeof e === "string")
      : [];
  } catch {
    return [];
  }
}

export interface BinaryMemo {
  /** Whether `binary` passed the test here before. */
  passed(binary: BinaryUnderTest): Promise<boolean>;
  /** Remembers that `binary` passed (errors are swallowed: it is a cache). */
  remember(binary: BinaryUnderTest): Promise<void>;
}

export function binaryMemo(release: string, path: string = binaryMemoPath()): BinaryMemo {
  return {
    async passed(binary) {
      try {
        return (await readEntries(path)).includes(await entryOf(release, binary));
      } catch {
        return false;
      }
    },
    async remember(binary) {
      try {
        const entry = await entryOf(release, binary);
        const kept = (await readEntries(path)).filter((e) => e !== entry).slice(-(MAX_ENTRIES - 1));
        await writeFileAtomic(path, `${JSON.stringify({ passed: [...kept, entry] })}\n`, { createDir: true });
      } catch {
        // A cache that cannot be written costs the next process the test, nothing more.
      }
    },
  };
}
