/**
 * Speculative decoding benchmark (engine.speculative), each figure against its own baseline in
 * the same run: three `aixcl serve` processes on one model store, speculation off, `draft` and
 * `lookup`, measured in interleaved rounds.
 *
 * The target is a scripted model of the benchmark model's size (test/support scriptedModel with
 * `benchSized`: its dimensions, Q8_0 matrices, so the same cost per token) that loops through a
 * fixed script; the draft is the same script in a tiny model with the same vocabulary, so it
 * agrees with the target exactly and costs little. The draft runs on a plain prompt; lookup on a
 * prompt that holds the script, which the answer then copies (as a code edit copies its input).
 *
 *   npx tsx bench/speculative.ts [-- --rounds 3 --decode-tokens 128 --threads 2]
 *
 * `npm run bench:engine` runs it after its own phases.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { installModel, scriptedModel } from "../test/support/test-models.js";
import { median, ratio, table } from "./report.js";
import { generate, startServer, type ServerProcess } from "./server.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TARGET = "spec-target:latest";
const DRAFT = "spec-draft:latest";
/** 62 one-character pieces: prompts that hold the script tokenize into exactly its pieces. */
const SCRIPT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".split("");
const VOCAB = 32000;

export interface SpeculativeBenchOptions {
  rounds: number;
  decodeTokens: number;
  threads: number;
}

/** The environment without any AIXCL_* setting of the caller's (the bench sets its own). */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("AIXCL_")) env[key] = value;
  return { ...env, ...extra };
}

export async function speculativeBench(options: SpeculativeBenchOptions): Promise<void> {
  const { rounds, decodeTokens, threads } = options;
  console.log(
    `speculative decoding: ${rounds} rounds, ${decodeTokens} decoded tokens, ${threads} threads ` +
      `(load average ${(loadavg()[0] ?? 0).toFixed(2)})`,
  );
  const [target, draft] = await Promise.all([
    scriptedModel("bench-loop", SCRIPT, {
      loop: true,
      benchSized: true,
      vocabSize: VOCAB,
      contextLength: 4096,
    }),
    scriptedModel("bench-loop-draft", SCRIPT, { loop: true, vocabSize: VOCAB, contextLength: 4096 }),
  ]);
  const dir = await mkdtemp(join(tmpdir(), "aixcl-bench-spec-"));
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  try {
    const models = join(dir, "models");
    await installModel(models, TARGET, target, { params: { draft_model: DRAFT } });
    await installModel(models, DRAFT, draft);
    const start = async (mode: "off" | "draft" | "lookup"): Promise<ServerProcess> => {
      const home = join(dir, mode);
      const server = await startServer(
        ROOT,
        [
          ["--home", home],
          ["--models", models],
          ["--port", "0"],
          ["--profile", "core"],
          ["--num-parallel", "1"],
          ["--threads", String(threads)],
          ["--context-length", "1024"],
          ["--keep-alive", "-1"],
          ["--log-level", "warn"],
        ].flat(),
        cleanEnv({ AIXCL_HOME: home, AIXCL_SPECULATIVE: mode }),
      );
      cleanups.unshift(() => server.stop());
      return server;
    };
    const off = await start("off");
    const drafted = await start("draft");
    const lookup = await start("lookup");

    const plainPrompt = "Say something: ";
    const copyPrompt = `Copy this: ${SCRIPT.join("")}${SCRIPT.join("")} `;
    const tps = async (server: ServerProcess, prompt: string) => {
      const result = await generate(server.url, TARGET, prompt, decodeTokens);
      return result.evalCount / (result.evalNs / 1e9);
    };
    // Warm-up (untimed): loads the model (and the draft) in each server's runner.
    for (const server of [off, drafted, lookup]) await tps(server, plainPrompt);

    const rows = {
      off: [] as number[],
      draft: [] as number[],
      offCopy: [] as number[],
      lookup: [] as number[],
    };
    for (let round = 0; round < rounds; round++) {
      const steps: [number[], () => Promise<number>][] = [
        [rows.off, () => tps(off, plainPrompt)],
        [rows.draft, () => tps(drafted, plainPrompt)],
        [rows.offCopy, () => tps(off, copyPrompt)],
        [rows.lookup, () => tps(lookup, copyPrompt)],
      ];
      // Alternate the order so neither side always runs on a warmer (or busier) machine.
      if (round % 2 === 1) steps.reverse();
      for (const [row, run] of steps) row.push(await run());
      console.log(`round ${round + 1}/${rounds} done`);
    }
    console.log("");
    console.log(
      table("speculative decode (server-reported), tok/s", [
        { label: "plain prompt, speculation off", values: rows.off },
        { label: "plain prompt, draft model", values: rows.draft },
        { label: "copying prompt, speculation off", values: rows.offCopy },
        { label: "copying prompt, prompt lookup", values: rows.lookup },
      ]),
    );
    console.log(ratio("draft/off (target >= 1.5)", median(rows.draft), median(rows.off)));
    console.log(
      ratio("lookup/off on the copying prompt (target >= 1.3)", median(rows.lookup), median(rows.offCopy)),
    );
    console.log(`load average after: ${(loadavg()[0] ?? 0).toFixed(2)}`);
  } finally {
    for (const cleanup of cleanups) await cleanup().catch(() => {});
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: args } = parseArgs({
    options: {
      rounds: { type: "string", default: "3" },
      "decode-tokens": { type: "string", default: "128" },
      threads: { type: "string" },
    },
  });
  await speculativeBench({
    rounds: Number(args.rounds),
    decodeTokens: Number(args["decode-tokens"]),
    threads: args.threads === undefined ? availableParallelism() : Number(args.threads),
  });
}
