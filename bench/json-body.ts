/**
 * Cost of reading a JSON request body (readJsonBody: size limit, depth and duplicate-key scan,
 * JSON.parse) against JSON.parse alone on the same text, for ~10 MB bodies: one long base64
 * string (an image in a chat message), and many small objects (a long conversation).
 *
 *   npx tsx bench/json-body.ts [--rounds 7] [--mb 10]
 */
import { randomBytes } from "node:crypto";
import { parseArgs } from "node:util";
import { Hono } from "hono";
import { bodyLimit, readJsonBody } from "../src/server/middleware/body.js";
import type { AppEnv } from "../src/server/app-env.js";
import { median, ratio, table, type Row } from "./report.js";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "7" }, mb: { type: "string", default: "10" } },
});
const rounds = Number(values.rounds);
const bytes = Number(values.mb) * 1024 * 1024;

function imageBody(): string {
  const image = randomBytes(Math.floor((bytes * 3) / 4)).toString("base64");
  return JSON.stringify({
    model: "m",
    messages: [{ role: "user", content: "what is this?", images: [image] }],
  });
}

function conversationBody(): string {
  const messages: { role: string; content: string }[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const message = { role: i % 2 === 0 ? "user" : "assistant", content: `message ${i} `.repeat(8) };
    size += JSON.stringify(message).length + 1;
    messages.push(message);
  }
  return JSON.stringify({ model: "m", messages, options: { temperature: 0 } });
}

const app = new Hono<AppEnv>();
app.use(bodyLimit({ maxBytes: 64 * 1024 * 1024, maxDepth: 64, idleMs: 30_000 }, () => false));
app.post("/", async (c) => {
  await readJsonBody(c);
  return c.body(null, 204);
});

async function timeRead(text: string): Promise<number> {
  const body = Buffer.from(text);
  const started = performance.now();
  const res = await app.request("/", { method: "POST", body });
  if (res.status !== 204) throw new Error(`readJsonBody answered ${res.status}`);
  return performance.now() - started;
}

function timeParse(text: string): number {
  const body = Buffer.from(text);
  const started = performance.now();
  JSON.parse(body.toString("utf8"));
  return performance.now() - started;
}

for (const [name, text] of [
  ["base64 image", imageBody()],
  ["conversation", conversationBody()],
] as const) {
  const read: number[] = [];
  const parse: number[] = [];
  await timeRead(text); // warm-up
  for (let round = 0; round < rounds; round++) {
    parse.push(timeParse(text));
    read.push(await timeRead(text));
  }
  const rows: Row[] = [
    { label: `JSON.parse (ms)`, values: parse },
    { label: `readJsonBody (ms)`, values: read },
  ];
  console.log(table(`${name}, ${(text.length / 1024 / 1024).toFixed(1)} MB`, rows));
  console.log(ratio(`${name}: readJsonBody / JSON.parse`, median(read), median(parse)));
  console.log();
}
