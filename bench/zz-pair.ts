import { scriptedModel } from "../test/support/test-models.js";
const SCRIPT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".split("");
const t0 = Date.now();
const target = await scriptedModel("bench-loop", SCRIPT, { loop: true, benchSized: true, vocabSize: 32000, contextLength: 4096 });
const draft = await scriptedModel("bench-loop-draft", SCRIPT, { loop: true, vocabSize: 32000, contextLength: 4096 });
console.log(target, draft, Date.now() - t0);
