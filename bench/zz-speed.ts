import { getLlama, DraftSequenceTokenPredictor, InputLookupTokenPredictor } from "node-llama-cpp";
const [target, draftPath] = process.argv.slice(2) as [string, string];
const llama = await getLlama({ gpu: false, build: "never" });
const model = await llama.loadModel({ modelPath: target });
const dmodel = await llama.loadModel({ modelPath: draftPath });
const SCRIPT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const mk = async (kind: string, n: number) => {
  const ctx = await model.createContext({ contextSize: 1024, sequences: 1, threads: 2 });
  let tp;
  if (kind === "draft") { const d = await dmodel.createContext({ contextSize: 1024, sequences: 1, threads: 2 }); tp = new DraftSequenceTokenPredictor(d.getSequence(), { minTokens: n, maxTokens: n, evaluateOptions: { temperature: 0 } }); }
  if (kind === "lookup") tp = new InputLookupTokenPredictor({ predictionLength: { max: n } });
  return { kind: `${kind}${n}`, seq: ctx.getSequence(tp ? { tokenPredictor: tp } : {}) };
};
const runs = [await mk("off", 0), await mk("draft", 1), await mk("draft", 4), await mk("lookup", 1), await mk("lookup", 4)];
const res: Record<string, number[]> = {};
for (let round = 0; round < 3; round++) {
  for (const r of runs) {
    await r.seq.clearHistory();
    const prompt = model.tokenize(`copy: ${SCRIPT}${SCRIPT} ` + round, false);
    r.seq.tokenPredictor?.updateInputTokens(prompt);
    let n = 0; let t0 = 0;
    for await (const _ of r.seq.evaluate(prompt, { temperature: 0 })) { if (n === 0) t0 = performance.now(); if (++n >= 129) break; }
    (res[r.kind] ??= []).push(128 / ((performance.now() - t0) / 1000));
  }
}
for (const [k, v] of Object.entries(res)) console.log(k, v.map((x) => x.toFixed(1)).join(" "));
process.exit(0);
