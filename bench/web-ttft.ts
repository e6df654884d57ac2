/**
 * Part of `npm run bench:web` (bench/web.ts): in Chromium, the time from pressing Enter in the
 * chat's composer to the answer's first token in the page's DOM, against the time from a
 * `fetch('/api/chat')` in the same page to its first token read from the stream — the same model,
 * server and history, interleaved rounds. The app stores the question and the answer row before
 * the first token and renders them; the ratio says what that costs a user (target ≤ 1.1). Two
 * models: the 220M-parameter bench model, whose prompt evaluation of a growing chat is what a
 * user waits for with any real model (the ratio), and a scripted 4-token one, whose ~20 ms first
 * token is almost all fixed cost (printed as the app's extra milliseconds: a ratio would only
 * magnify them). The chat grows every round and its first tokens grow with it, so each app round
 * is also compared with the /api/chat rounds either side of it (the same history, give or take
 * one turn).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createUser } from "../src/auth/users.js";
import { loadConfig } from "../src/config/load.js";
import { silentLogger } from "../src/logger.js";
import { startPlatform } from "../src/server/start.js";
import type { Page, Request } from "playwright-core";
import { launchBrowser } from "../test/support/browser.js";
import { benchModel, installModel, scriptedModel } from "../test/support/test-models.js";
import { median, ratio, table } from "./report.js";

const ROUNDS = Number(process.env.AIXCL_BENCH_TTFT_ROUNDS ?? 20);
const MODEL = "ttft:latest";
/** Every answer is cut at this many tokens: the rounds measure first tokens, not long answers. */
const ANSWER_TOKENS = 4;

/** In the page: ms from a keydown of Enter in the composer to the last answer's first text in its body. */
const APP_ROUND = `new Promise((resolve) => {
  const list = document.querySelector('[data-testid="message-list"]') ?? document.body;
  let start = 0;
  const composer = document.querySelector('[data-testid="composer"]');
  composer.addEventListener("keydown", () => (start = performance.now()), { once: true, capture: true });
  const before = document.querySelectorAll('[data-testid="message"][data-role="assistant"]').length;
  const observer = new MutationObserver(() => {
    const answers = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
    const last = answers[answers.length - 1];
    // The answer's text, not the whole message: its header names the model from the first event.
    const body = last && last.querySelector(".message-body");
    if (answers.length > before && body && body.textContent.trim().length > 0 && start > 0) {
      observer.disconnect();
      resolve(performance.now() - start);
    }
  });
  observer.observe(list, { childList: true, subtree: true, characterData: true });
})`;

/**
 * In the page: ms from fetch('/api/chat') to the first content token read from its stream. The
 * request carries the same history as the app's (the chat so far, then the same question), so
 * both prompts cost the model the same.
 */
function apiRound(messages: { role: string; content: string }[]): string {
  return `(async () => {
  const start = performance.now();
  const response = await fetch("/api/chat", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      model: "${MODEL}",
      messages: ${JSON.stringify(messages)},
      stream: true,
      options: { num_predict: ${ANSWER_TOKENS} },
    }),
  });
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new Error("no token");
    text += decoder.decode(value, { stream: true });
    if (/"content":"[^"]/.test(text)) break;
  }
  const elapsed = performance.now() - start;
  while (!(await reader.read()).done);
  return elapsed;
})()`;
}

/** The chat the page shows, as the messages of a request (one branch: nothing was regenerated). */
async function historyOf(page: Page): Promise<{ role: string; content: string }[]> {
  const id = /\/c\/([0-9a-f-]{36})$/.exec(page.url())?.[1];
  if (id === undefined) return [];
  return page.evaluate<{ role: string; content: string }[]>(`(async () => {
    const response = await fetch("/api/aixcl/conversations/${id}");
    const { messages } = await response.json();
    return messages.map((m) => ({ role: m.role, content: m.content }));
  })()`);
}

export async function measureTtft(): Promise<string[]> {
  return [
    ...(await measureWith(
      "scripted 4-token model",
      await scriptedModel("ttft", ["Ready", " to", " help", "."]),
      "fixed cost",
    )),
    ...(await measureWith("220M-parameter Q8_0 bench model", await benchModel(), "ratio")),
  ];
}

/**
 * `verdict`: what the rounds are read as. "ratio": app / api against the target (a real model's
 * first token). "fixed cost": the app's extra milliseconds (the scripted model's first token is
 * almost nothing but fixed costs, so a ratio would only magnify them).
 */
async function measureWith(label: string, gguf: string, verdict: "ratio" | "fixed cost"): Promise<string[]> {
  const home = await mkdtemp(join(tmpdir(), "aixcl-bench-ttft-"));
  const config = loadConfig({ flags: { home, "server.port": 0 }, env: {}, readFile: false });
  await installModel(join(home, "models"), MODEL, gguf);
  const platform = await startPlatform({ config, logger: silentLogger() });
  const browser = await launchBrowser();
  try {
    const db = platform.deps.db;
    if (!db) throw new Error("bench:web needs profile sys");
    await createUser(db, { username: "ttft", password: "ttft-password", role: "user" });
    const page = await browser.newPage();
    await page.goto(`${platform.url}/login`);
    await page.getByTestId("login-username").fill("ttft");
    await page.getByTestId("login-password").fill("ttft-password");
    await page.getByTestId("login-submit").click();
    await page.getByTestId("composer").waitFor();
    // A chat whose answers stop after a few tokens, opened in the app.
    const id = await page.evaluate<string>(`(async () => {
      const response = await fetch("/api/aixcl/conversations", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "${MODEL}", options: { num_predict: ${ANSWER_TOKENS} } }),
      });
      return (await response.json()).id;
    })()`);
    await page.goto(`${platform.url}/c/${id}`);
    await page.getByTestId("composer").waitFor();
    const app: number[] = [];
    const api: number[] = [];
    const appRound = async (question: string): Promise<number> => {
      const measured = page.evaluate<number>(APP_ROUND);
      await page.getByTestId("composer").fill(question);
      // Enter goes down (the app sends on keydown) and comes up once the token is in: the key's
      // release through the DevTools protocol costs the browser a few ms of CPU, harness work the
      // /api/chat rounds do not have inside their timing either.
      await page.keyboard.down("Enter");
      const ms = await measured;
      await page.keyboard.up("Enter");
      await page.waitForSelector('[data-testid="message"][data-role="assistant"][data-status="done"]');
      await page.waitForSelector('[data-testid="message"][data-status="streaming"]', { state: "detached" });
      return ms;
    };
    // Each round asks the same prompt both ways, in turn first: the second of a pair finds the
    // first's prompt in the runner's cache, so only the first of each pair is counted, and each
    // side goes first in every other round (both then evaluate the same new tokens). Rounds 0
    // and 1 load the model and warm both paths; they are not counted. The chat grows every
    // round, and a longer history makes every first token slower: /api/chat is counted in rounds
    // 2, 4, …, ROUNDS + 2 and the app in rounds 3, 5, …, ROUNDS + 1, so both sides' rounds are
    // centred on the same round (counting rounds 2–ROUNDS + 1 would give the app one round more
    // history on average).
    // Each round starts once the page has no request in flight: after an answer the app refreshes
    // the conversation list, and a question sent in the same millisecond would share the server
    // with that refresh (a person reads the answer first).
    const inFlight = new Set<Request>();
    page.on("request", (request) => inFlight.add(request));
    page.on("requestfinished", (request) => inFlight.delete(request));
    page.on("requestfailed", (request) => inFlight.delete(request));
    const quiet = async () => {
      const deadline = Date.now() + 5000;
      for (let idle = 0; idle < 5; idle = inFlight.size === 0 ? idle + 1 : 0) {
        if (Date.now() > deadline) {
          throw new Error(`requests still open: ${[...inFlight].map((r) => r.url()).join(", ")}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    for (let round = 0; round < ROUNDS + 3; round++) {
      const question = `Question ${round}`;
      const history = [...(await historyOf(page)), { role: "user", content: question }];
      await quiet();
      if (round % 2 === 0) {
        const apiMs = await page.evaluate<number>(apiRound(history));
        await appRound(question);
        if (round > 1) api.push(apiMs);
      } else {
        const appMs = await appRound(question);
        await page.evaluate<number>(apiRound(history));
        if (round > 1) app.push(appMs);
      }
    }
    // App round i (round 3 + 2i) lies between /api/chat rounds i and i + 1 (rounds 2 + 2i, 4 + 2i).
    const around = (i: number) => ((api[i] ?? NaN) + (api[i + 1] ?? NaN)) / 2;
    const paired =
      verdict === "ratio" ? app.map((ms, i) => ms / around(i)) : app.map((ms, i) => ms - around(i));
    return [
      "",
      table(`first token in the page, ms (${label})`, [
        { label: "app (Enter -> token in the DOM)", values: app },
        { label: "/api/chat (fetch -> token read)", values: api },
        {
          label: `app ${verdict === "ratio" ? "/" : "-"} mean of the api rounds either side`,
          values: paired,
        },
      ]),
      verdict === "ratio"
        ? `${ratio("app / api, medians", median(app), median(api))}; median of the paired ratios = ${median(paired).toFixed(2)} (target <= 1.10)`
        : `app - api, median of the paired differences = ${median(paired).toFixed(1)} ms (the app's fixed cost: storing the turn, rendering it)`,
    ];
  } finally {
    await browser.close();
    await platform.close();
    await rm(home, { recursive: true, force: true });
  }
}
