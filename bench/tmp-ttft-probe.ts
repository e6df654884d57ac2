import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "../src/auth/users.js";
import { loadConfig } from "../src/config/load.js";
import { silentLogger } from "../src/logger.js";
import { startPlatform } from "../src/server/start.js";
import { installModel, scriptedModel } from "../test/support/test-models.js";
const MODEL = "ttft:latest";
const home = await mkdtemp(join(tmpdir(), "aixcl-probe-"));
const config = loadConfig({ flags: { home, "server.port": 0 }, env: {}, readFile: false });
await installModel(join(home, "models"), MODEL, await scriptedModel("ttft", ["Ready", " to", " help", "."]));
const platform = await startPlatform({ config, logger: silentLogger() });
await createUser(platform.deps.db!, { username: "ttft", password: "ttft-password", role: "user" });
const url = platform.url;
const login = await fetch(`${url}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "ttft", password: "ttft-password" }) });
const cookie = login.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
const h = { "content-type": "application/json", cookie, origin: url };
const conv = await (await fetch(`${url}/api/aixcl/conversations`, { method: "POST", headers: h, body: JSON.stringify({ model: MODEL }) })).json() as { id: string };
async function first(res: Response, re: RegExp) {
  const reader = res.body!.getReader(); const d = new TextDecoder(); let text = "";
  let t = 0;
  for (;;) { const { value, done } = await reader.read(); if (done) break; text += d.decode(value, { stream: true }); if (!t && re.test(text)) t = performance.now(); }
  return { t, text };
}
let parent: string | null = null;
const app: number[] = [], api: number[] = [];
for (let i = 0; i < 21; i++) {
  let s = performance.now();
  const r1 = await fetch(`${url}/api/aixcl/conversations/${conv.id}/messages`, { method: "POST", headers: h, body: JSON.stringify({ content: `Question ${i}`, parent_id: parent }) });
  const a = await first(r1, /"type":"delta"/);
  const done = a.text.trim().split("\n").map((l) => JSON.parse(l)).at(-1);
  parent = done.message.id;
  if (i > 0) app.push(a.t - s);
  s = performance.now();
  const r2 = await fetch(`${url}/api/chat`, { method: "POST", headers: h, body: JSON.stringify({ model: MODEL, messages: [{ role: "user", content: "Hi there" }], stream: true }) });
  const b = await first(r2, /"content":"[^"]/);
  if (i > 0) api.push(b.t - s);
}
const med = (x: number[]) => [...x].sort((p, q) => p - q)[Math.floor(x.length / 2)]!;
console.log("app", med(app).toFixed(1), "api", med(api).toFixed(1), "ratio", (med(app) / med(api)).toFixed(2));
await platform.close();
