/**
 * The web chat end to end: a real `aixcl serve` process (test/support/serve-process.ts) with
 * generated models, driven through Debian's Chromium (test/support/browser.ts). Every page is
 * watched for dialogs, console errors and page errors: hostile model output, titles and system
 * prompts must render as text, so an `alert(1)` that runs fails the test. Screenshots of the main
 * screens at desktop and phone width, light and dark, go to test-results/screenshots/.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DESKTOP,
  launchBrowser,
  logIn as signIn,
  openPage,
  PHONE,
  screenshot,
  type ViewOptions,
  type WatchedPage,
} from "../support/browser.js";
import {
  helloModel,
  HOSTILE,
  hostileModel,
  longModel,
  LONG_SCRIPT,
  markdownModel,
  QWEN3_ANSWER,
  QWEN3_THINKING,
  qwen3ThinkingModel,
  R1_PONDER_THINKING,
  r1PonderModel,
} from "../support/scripted-models.js";
import { adminPages, conversationId, messages, send, setScheme, startNewChat } from "../support/chat-page.js";
import { aixcl, startServeProcess, type ServeProcess } from "../support/serve-process.js";
import { scriptedModel } from "../support/test-models.js";

const LONG_TEXT = LONG_SCRIPT.join("");

let browser: Browser;
let served: ServeProcess;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  const [hello, long, endless, markdown, hostile, thinker, ponder] = await Promise.all([
    helloModel(),
    longModel(),
    // Runs until its context is full (~2,000 tokens, seconds): a Stop always lands mid-answer,
    // however fast the runner or slow the page on two busy cores.
    scriptedModel("long-400-loop", LONG_SCRIPT, { loop: true }),
    markdownModel(),
    hostileModel(),
    // More files in the store: a runner only when a test chats with them.
    qwen3ThinkingModel(),
    r1PonderModel(),
  ]);
  [browser, served] = await Promise.all([
    launchBrowser(),
    startServeProcess({
      models: [
        { name: "hello", gguf: hello },
        { name: "long", gguf: long },
        { name: "endless", gguf: endless },
        { name: "markdown", gguf: markdown },
        { name: "hostile", gguf: hostile },
        { name: "thinker", gguf: thinker },
        { name: "ponder", gguf: ponder },
      ],
    }),
  ]);
}, 120_000);

afterAll(async () => {
  for (const page of pages) await page.close().catch(() => undefined);
  await browser?.close();
  await served?.close();
});

/** A new browser context and page, watched; closed at the end of the file. */
async function newPage(view: ViewOptions = { ...DESKTOP, colorScheme: "light" }): Promise<WatchedPage> {
  const watched = await openPage(browser, view);
  pages.push(watched);
  return watched;
}

const logIn = (page: Page, username: string, password: string) =>
  signIn(page, served.url, username, password);

/** The admin's pages: `asAdmin()` one shared page, `newAdminPage()` one of its own. */
const {
  asAdmin,
  fresh: newAdminPage,
  adopt,
} = adminPages(() => ({
  browser,
  url: served.url,
  admin: served.admin,
  pages,
}));

describe("the web chat in Chromium", () => {
  it("shows the login page, refuses a wrong password readably, and logs in", async () => {
    const watched = await newPage();
    const { page, problems } = watched;
    await page.goto(served.url);
    await page.getByTestId("login-form").waitFor();
    // One page resized and re-themed: a context per picture cost a second each.
    for (const view of [DESKTOP, PHONE]) {
      await page.setViewportSize(view);
      for (const colorScheme of ["light", "dark"] as const) {
        await setScheme(page, colorScheme);
        await screenshot(page, "login", { ...view, colorScheme });
      }
    }
    await page.setViewportSize(DESKTOP);
    await setScheme(page, "light");
    await page.getByTestId("login-username").fill("<img src=x onerror=alert(1)>");
    await page.getByTestId("login-password").fill("wrong-password");
    await page.getByTestId("login-submit").click();
    await expect
      .poll(() => page.getByTestId("login-error").textContent())
      .toMatch(/(wrong|invalid) username or password/i);
    // The refused login is the one failed request (the browser logs its 401); nothing else.
    expect(problems).toEqual([expect.stringMatching(/status of 401/)]);
    problems.length = 0;
    await logIn(page, served.admin.username, served.admin.password);
    expect(await page.getByTestId("current-user").textContent()).toContain(served.admin.username);
    expect(problems).toEqual([]);
    // Signed in as the admin: the page the next tests share.
    await adopt(watched);
  });

  it("streams an answer token by token, stops it, and shows it stopped after a reload", async () => {
    const { page, problems } = await asAdmin();
    // Every length the answer's text takes in the DOM, as the page renders it.
    await page.evaluate(`(() => {
      window.__lengths = [];
      new MutationObserver(() => {
        const answers = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
        const last = answers[answers.length - 1];
        const length = last ? last.textContent.length : 0;
        if (length > 0 && window.__lengths[window.__lengths.length - 1] !== length) window.__lengths.push(length);
      }).observe(document.body, { childList: true, subtree: true, characterData: true });
    })()`);
    await send(page, "Count for me", "endless");
    const answer = messages(page, "assistant").last();
    // Tokens arrive one by one: the answer is seen at several growing lengths before it is stopped.
    await expect.poll(() => page.evaluate("window.__lengths.length")).toBeGreaterThanOrEqual(5);
    // The chat follows the answer down while it outgrows the window; scrolled up, it stays where
    // the reader put it until "Latest" takes it back down.
    const scroll = (expression: string) =>
      page.evaluate<number>(
        `(() => { const e = document.querySelector(".message-scroll"); return ${expression}; })()`,
      );
    const below = () => scroll("e.scrollHeight - e.scrollTop - e.clientHeight");
    await expect.poll(() => scroll("e.scrollHeight - e.clientHeight")).toBeGreaterThan(200);
    expect(await below()).toBeLessThan(48);
    await scroll("(e.scrollTo(0, 0), 0)");
    await page.getByTestId("jump-bottom").waitFor();
    const grown = await scroll("e.scrollHeight");
    await expect.poll(() => scroll("e.scrollHeight")).toBeGreaterThan(grown);
    expect(await scroll("e.scrollTop")).toBe(0);
    await page.getByTestId("jump-bottom").click();
    await expect.poll(below).toBeLessThan(48);
    // Esc stops, wherever the focus is.
    await page.getByTestId("chat-title").click();
    await page.keyboard.press("Escape");
    await expect.poll(() => answer.getAttribute("data-status")).toBe("stopped");
    const partial = (await answer.locator(".message-body, [class*=body]").first().textContent()) ?? "";
    await page.reload();
    const reloaded = messages(page, "assistant").last();
    await expect.poll(() => reloaded.getAttribute("data-status")).toBe("stopped");
    const text = (await reloaded.textContent()) ?? "";
    expect(text.length).toBeGreaterThan(0);
    // Stopped well before the model would have filled its context.
    expect(text.match(/ w\d+/g)?.length ?? 0).toBeLessThan(1500);
    expect(partial.length).toBeGreaterThan(0);

    // Shift+Enter is a new line, not a send; the Stop button stops like Esc.
    await page.getByTestId("composer").fill("Count");
    await page.getByTestId("composer").press("Shift+Enter");
    await page.getByTestId("composer").pressSequentially("again");
    expect(await page.getByTestId("composer").inputValue()).toBe("Count\nagain");
    await page.getByTestId("composer").press("Enter");
    const second = messages(page, "assistant").nth(1);
    await expect.poll(async () => ((await second.textContent()) ?? "").length).toBeGreaterThan(0);
    // While an answer is written, the earlier messages can be neither edited nor regenerated.
    const firstEdit = messages(page, "user").first().getByTestId("edit-message");
    const firstRegenerate = messages(page, "assistant").first().getByTestId("regenerate");
    await expect.poll(() => firstEdit.isDisabled()).toBe(true);
    await expect.poll(() => firstRegenerate.isDisabled()).toBe(true);
    await page.getByTestId("stop").click();
    await expect.poll(() => second.getAttribute("data-status")).toBe("stopped");
    await expect.poll(() => firstEdit.isDisabled()).toBe(false);
    await expect.poll(() => firstRegenerate.isDisabled()).toBe(false);
    expect(await messages(page, "user").nth(1).textContent()).toContain("again");
    expect(problems).toEqual([]);
  });

  it("shows reasoning open as it streams, at phone width too, and keeps it when stopped", async () => {
    const { page, problems } = await asAdmin();
    await send(page, "Ponder this", "ponder");
    const answer = messages(page, "assistant").last();
    const block = answer.getByTestId("thinking");
    const reasoning = block.locator(".thinking-body");
    await expect.poll(async () => ((await reasoning.textContent()) ?? "").length).toBeGreaterThan(60);
    expect(await answer.getAttribute("data-status")).toBe("streaming");
    expect(await block.getAttribute("open")).not.toBeNull();
    expect(await block.locator("summary").textContent()).toBe("Thinking…");
    expect(await reasoning.textContent()).toContain(R1_PONDER_THINKING);
    await page.setViewportSize(PHONE);
    for (const colorScheme of ["light", "dark"] as const) {
      await setScheme(page, colorScheme);
      await screenshot(page, "chat-thinking-streaming", { ...PHONE, colorScheme });
    }
    await page.keyboard.press("Escape");
    await expect.poll(() => answer.getAttribute("data-status")).toBe("stopped");
    await page.reload();
    const stopped = messages(page, "assistant").last();
    await expect.poll(() => stopped.getAttribute("data-status")).toBe("stopped");
    expect(await stopped.getByTestId("thinking").locator(".thinking-body").textContent()).toContain(
      R1_PONDER_THINKING,
    );
    expect(problems).toEqual([]);
  });

  it("finishes an answer whose page was closed, and shows it complete when the chat is opened again", async () => {
    // A page of its own: this one is closed mid-answer.
    const first = await newAdminPage();
    await send(first.page, "Write a lot", "long");
    const id = await conversationId(first.page);
    await expect
      .poll(async () => ((await messages(first.page, "assistant").last().textContent()) ?? "").length)
      .toBeGreaterThan(0);
    await first.close();
    const { page, problems } = await asAdmin();
    await page.goto(`${served.url}/c/${id}`);
    const answer = messages(page, "assistant").last();
    await expect.poll(() => answer.getAttribute("data-status"), { timeout: 30_000 }).toBe("done");
    expect(((await answer.textContent()) ?? "").replace(/\s+/g, " ")).toContain(
      LONG_TEXT.trim().replace(/\s+/g, " "),
    );
    expect(problems).toEqual([]);
  });

  it("regenerates and flips between versions; edits a question and resends it", async () => {
    const { page, problems } = await asAdmin();
    await send(page, "Say hello", "hello");
    const answer = messages(page, "assistant").last();
    await expect.poll(() => answer.getAttribute("data-status")).toBe("done");
    await answer.hover();
    await answer.getByTestId("regenerate").click();
    await expect.poll(() => answer.getByTestId("version-count").textContent()).toMatch(/2\s*\/\s*2/);
    await expect.poll(() => messages(page, "assistant").last().getAttribute("data-status")).toBe("done");
    await answer.getByTestId("version-prev").click();
    await expect.poll(() => answer.getByTestId("version-count").textContent()).toMatch(/1\s*\/\s*2/);

    const question = messages(page, "user").last();
    await question.hover();
    await question.getByTestId("edit-message").click();
    await page.getByTestId("edit-input").fill("Say hello again");
    await page.getByTestId("edit-send").click();
    await expect.poll(() => messages(page, "user").last().textContent()).toContain("Say hello again");
    await expect
      .poll(() => messages(page, "user").last().getByTestId("version-count").textContent())
      .toMatch(/2\s*\/\s*2/);
    await expect.poll(() => messages(page, "assistant").last().getAttribute("data-status")).toBe("done");
    expect(await messages(page, "assistant").last().textContent()).toContain("Hello world!");
    expect(problems).toEqual([]);
  });

  it("renders markdown with code and a table, reasoning folded, and hostile output, titles and system prompts as text", async () => {
    const { page, problems } = await asAdmin();
    await send(page, "Show me markdown", "markdown");
    const answer = messages(page, "assistant").last();
    await expect.poll(() => answer.getAttribute("data-status")).toBe("done");
    expect(await answer.locator("table").count()).toBe(1);
    expect(await answer.locator("pre code").count()).toBe(1);
    expect(await answer.locator("strong").textContent()).toBe("bold");
    for (const view of [DESKTOP, PHONE]) {
      for (const colorScheme of ["light", "dark"] as const) {
        await page.setViewportSize(view);
        await setScheme(page, colorScheme);
        await screenshot(page, "chat-markdown", { ...view, colorScheme });
      }
    }
    await page.setViewportSize(DESKTOP);

    // A thinking model's reasoning: folded above the answer once it started, not in its text.
    await startNewChat(page);
    await send(page, "Think first", "thinker");
    const thought = messages(page, "assistant").last();
    await expect.poll(() => thought.getAttribute("data-status")).toBe("done");
    const block = thought.getByTestId("thinking");
    expect(await block.getAttribute("open")).toBeNull();
    expect((await thought.locator(".markdown").textContent())?.trim()).toBe(QWEN3_ANSWER);
    await block.locator("summary").click();
    await expect.poll(() => block.locator(".thinking-body").isVisible()).toBe(true);
    expect((await block.locator(".thinking-body").textContent())?.trim()).toBe(QWEN3_THINKING);
    for (const colorScheme of ["light", "dark"] as const) {
      await setScheme(page, colorScheme);
      await screenshot(page, "chat-thinking", { ...DESKTOP, colorScheme });
    }

    await startNewChat(page);
    await send(page, "Be hostile", "hostile");
    const hostile = messages(page, "assistant").last();
    await expect.poll(() => hostile.getAttribute("data-status")).toBe("done");
    // Nothing the model wrote became an element: no image, vector graphic, script or script link.
    expect(await hostile.locator(".markdown :is(img, svg, script, a[href^='javascript'])").count()).toBe(0);
    expect(await hostile.textContent()).toContain("onerror=alert(1)");

    // A hostile title and system prompt. The prompt is typed first and the chat renamed while it
    // is unsaved: the rename fetches the chat's row again, which must not wipe what was typed.
    await page.getByTestId("settings-toggle").click();
    await page.getByTestId("settings-system").fill(HOSTILE.join(""));
    const item = page.getByTestId("conversation-item").first();
    await item.hover();
    await item.getByTestId("conversation-rename").click();
    const refetched = page.waitForResponse(
      (r) => r.request().method() === "GET" && /\/conversations\/[^/?]+$/.test(new URL(r.url()).pathname),
    );
    await page.getByTestId("conversation-rename-input").fill(HOSTILE.join(""));
    await page.getByTestId("conversation-rename-input").press("Enter");
    await expect
      .poll(() => page.getByTestId("conversation-item").first().textContent())
      .toContain("<svg onload=alert(1)>");
    await refetched;
    // One frame for the refetched row to render (and, before the fix, to reset the field).
    await page.evaluate("new Promise((resolve) => requestAnimationFrame(resolve))");
    expect(await page.getByTestId("settings-system").inputValue()).toBe(HOSTILE.join(""));
    // This save's PATCH (it carries the system prompt), not the rename's.
    const saved = page.waitForResponse(
      (r) =>
        r.request().method() === "PATCH" && (r.request().postData() ?? "").includes('"system"') && r.ok(),
    );
    await page.getByTestId("settings-save").click();
    await saved;
    await page.reload();
    await messages(page, "assistant").last().waitFor();
    await page.getByTestId("settings-toggle").click();
    await expect.poll(() => page.getByTestId("settings-system").inputValue()).toBe(HOSTILE.join(""));
    expect(await page.locator("img[src=x], svg[onload]").count()).toBe(0);

    // What is typed and not saved stays with its chat: the panel, left open, shows the next
    // chat's own settings, even when both chats' saved settings are the same (the defaults).
    const conversations = page.getByTestId("conversation-item");
    await conversations.nth(1).click();
    await expect.poll(() => page.getByTestId("settings-system").inputValue()).toBe("");
    await page.getByTestId("settings-system").fill("typed, not saved");
    await conversations.nth(2).click();
    await expect.poll(() => page.getByTestId("settings-system").inputValue()).toBe("");
    expect(problems).toEqual([]);
  });

  it("renames, pins, searches and deletes conversations; screenshots the list, the empty chat and the drawer", async () => {
    const { page, problems } = await asAdmin();
    await startNewChat(page);
    await send(page, "zebra crossing question", "hello");
    await expect.poll(() => messages(page, "assistant").last().getAttribute("data-status")).toBe("done");
    const id = await conversationId(page);
    const item = page.locator(`[data-testid="conversation-item"][data-id="${id}"]`);
    await item.hover();
    await item.getByTestId("conversation-rename").click();
    // The field takes the focus with the old title selected: typing replaces it.
    const focused = () => page.evaluate("document.activeElement?.dataset.testid");
    await expect.poll(focused).toBe("conversation-rename-input");
    await page.keyboard.type("Zebra notes");
    await page.keyboard.press("Enter");
    await expect.poll(() => item.textContent()).toContain("Zebra notes");
    await item.hover();
    await item.getByTestId("conversation-pin").click();
    await expect.poll(() => page.getByTestId("conversation-item").first().getAttribute("data-id")).toBe(id);

    // `/` focuses the message input from anywhere but a text field.
    await page.getByTestId("chat-title").click();
    await page.keyboard.press("/");
    await expect.poll(() => page.evaluate("document.activeElement?.dataset.testid")).toBe("composer");

    const all = await page.getByTestId("conversation-item").count();
    await page.getByTestId("conversation-search").fill("zebr");
    await expect.poll(() => page.getByTestId("conversation-item").count()).toBe(1);
    await page.getByTestId("conversation-search").fill("crossing");
    await expect.poll(() => page.getByTestId("conversation-item").count()).toBe(1);
    await page.getByTestId("conversation-search").fill("");
    await expect.poll(() => page.getByTestId("conversation-item").count()).toBe(all);

    for (const colorScheme of ["light", "dark"] as const) {
      await setScheme(page, colorScheme);
      await screenshot(page, "conversation-list", { ...DESKTOP, colorScheme });
      await startNewChat(page);
      await screenshot(page, "empty-chat", { ...DESKTOP, colorScheme });
    }
    await page.setViewportSize(PHONE);
    for (const colorScheme of ["light", "dark"] as const) {
      await setScheme(page, colorScheme);
      await screenshot(page, "empty-chat", { ...PHONE, colorScheme });
      await page.getByTestId("menu-button").click();
      await page.getByTestId("sidebar").waitFor();
      // The drawer takes the focus as it opens (not the menu button under its scrim).
      await expect
        .poll(() => page.evaluate("document.activeElement?.closest('[data-testid=sidebar]') !== null"))
        .toBe(true);
      await screenshot(page, "drawer", { ...PHONE, colorScheme });
      await page.keyboard.press("Escape");
      await page.locator(".scrim").waitFor({ state: "detached" });
    }
    await page.setViewportSize(DESKTOP);
    await setScheme(page, "light");

    await page.goto(`${served.url}/c/${id}`);
    const pinned = page.locator(`[data-testid="conversation-item"][data-id="${id}"]`);
    await pinned.hover();
    await pinned.getByTestId("conversation-delete").click();
    await expect.poll(focused).toBe("conversation-delete-confirm");
    await page.keyboard.press("Enter");
    await expect.poll(() => pinned.count()).toBe(0);
    const gone = await page.request.get(`${served.url}/api/aixcl/conversations/${id}`);
    expect(gone.status()).toBe(404);
    expect(problems).toEqual([]);
  });

  it("keeps users apart: a second user sees none of the first's chats and gets 404 on their ids; logs out", async () => {
    const admin = await asAdmin();
    const list = await admin.page.request.get(`${served.url}/api/aixcl/conversations`);
    const theirs = ((await list.json()) as { conversations: { id: string }[] }).conversations.map(
      (c) => c.id,
    );
    expect(theirs.length).toBeGreaterThan(0);
    const opened = await admin.page.request.get(`${served.url}/api/aixcl/conversations/${theirs[0]}`);
    const messageIds = ((await opened.json()) as { messages: { id: string }[] }).messages.map((m) => m.id);

    await aixcl(["users", "add", "bob", "--password-stdin"], served.env, "bob-password-1\n");
    const { page, problems } = await newPage();
    await logIn(page, "bob", "bob-password-1");
    expect(await page.getByTestId("conversation-item").count()).toBe(0);
    for (const id of theirs) {
      expect((await page.request.get(`${served.url}/api/aixcl/conversations/${id}`)).status()).toBe(404);
      expect(
        (
          await page.request.patch(`${served.url}/api/aixcl/conversations/${id}`, { data: { title: "mine" } })
        ).status(),
      ).toBe(404);
      expect((await page.request.delete(`${served.url}/api/aixcl/conversations/${id}`)).status()).toBe(404);
    }
    for (const id of messageIds) {
      expect((await page.request.get(`${served.url}/api/aixcl/messages/${id}/stream`)).status()).toBe(404);
      expect((await page.request.post(`${served.url}/api/aixcl/messages/${id}/stop`)).status()).toBe(404);
    }
    // Logging out ends the session on the server, not only in the page.
    await page.getByTestId("logout").click();
    await page.getByTestId("login-form").waitFor();
    expect((await page.request.get(`${served.url}/api/aixcl/conversations`)).status()).toBe(401);
    expect(problems).toEqual([]);
  });

  it("lists a model created while the app is open", async () => {
    const { page, problems } = await asAdmin();
    const before = await page.getByTestId("model-picker").locator("option").allTextContents();
    expect(before.join("\n")).not.toContain("made-in-test");
    const created = await page.request.post(`${served.url}/api/create`, {
      data: { model: "made-in-test", from: "hello", stream: false },
    });
    expect(created.status()).toBeLessThan(500);
    await page.reload();
    await expect
      .poll(async () =>
        (await page.getByTestId("model-picker").locator("option").allTextContents()).join("\n"),
      )
      .toContain("made-in-test");
    expect(problems).toEqual([]);
  });
});
