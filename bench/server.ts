/** The server side of the benchmark: `aixcl serve` as a child process and streaming /api/generate. */
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `node --import tsx src/cli/main.ts serve <args>` and waits for its "listening" line. */
export function startServer(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "serve", ...args], {
    cwd: root,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const match = /aixcl listening on (\S+)/.exec(line);
      if (match?.[1]) resolve({ url: match[1], child, stop });
    });
    child.once("exit", (code) =>
      reject(new Error(`aixcl serve exited (${code}) before listening:\n${stderr}`)),
    );
  });
}

/** The non-empty lines of a streamed response body (NDJSON, or SSE's `data:` lines), trimmed. */
export async function* bodyLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  const decoder = new TextDecoder();
  for await (const bytes of body as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(bytes, { stream: true });
    let newline: number;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline).trim();
      buffered = buffered.slice(newline + 1);
      if (line !== "") yield line;
    }
  }
}

export interface StreamResult {
  promptEvalCount: number;
  promptEvalNs: number;
  evalCount: number;
  evalNs: number;
  /** Client clock, ms (performance.now()), of the first and last chunk carrying text. */
  firstTokenAt: number;
  lastTokenAt: number;
}

/**
 * One streaming `POST /api/generate`, raw prompt, greedy. Timings come from the final chunk
 * (what the server measured) and from the client's clock (what a user sees, HTTP included).
 */
export async function generate(
  url: string,
  model: string,
  prompt: string,
  numPredict: number,
): Promise<StreamResult> {
  const response = await fetch(`${url}/api/generate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model,
      prompt,
      raw: true,
      stream: true,
      keep_alive: -1,
      // The same work as the baseline's greedy `evaluate` loop: no repeat penalty (Ollama's
      // default 1.1 adds a sampling stage the baseline does not run).
      options: { temperature: 0, repeat_penalty: 1, num_predict: numPredict, seed: 1 },
    }),
  });
  if (!response.ok || response.body === null) {
    throw new Error(`/api/generate answered ${response.status}: ${await response.text()}`);
  }
  let firstTokenAt = NaN;
  let lastTokenAt = NaN;
  let final: Record<string, unknown> | undefined;
  for await (const line of bodyLines(response.body)) {
    const chunk = JSON.parse(line) as Record<string, unknown>;
    if (typeof chunk.error === "string") throw new Error(`stream error: ${chunk.error}`);
    if (typeof chunk.response === "string" && chunk.response !== "") {
      const now = performance.now();
      if (Number.isNaN(firstTokenAt)) firstTokenAt = now;
      lastTokenAt = now;
    }
    if (chunk.done === true) final = chunk;
  }
  if (final === undefined) throw new Error("stream ended without a final chunk");
  return {
    promptEvalCount: Number(final.prompt_eval_count ?? 0),
    promptEvalNs: Number(final.prompt_eval_duration ?? 0),
    evalCount: Number(final.eval_count ?? 0),
    evalNs: Number(final.eval_duration ?? 0),
    firstTokenAt,
    lastTokenAt,
  };
}
