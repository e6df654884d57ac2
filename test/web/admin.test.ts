/**
 * The admin console and the settings page end to end (docs/admin-console.md): one real
 * `aixcl serve` process and one Chromium for the file, a browser context per person. Users,
 * keys (with the published `openai` client), models (a pull from a loopback registry, load and
 * unload), demotion, and the pages of the health, metrics and log routes. Screenshots of every
 * page at 1280×800, light and dark, go to test-results/screenshots/.
 */
import OpenAI from "openai";
import type { Browser, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DESKTOP,
  launchBrowser,
  logIn as signIn,
  openPage,
  PHONE,
  screenshot,
  type WatchedPage,
} from "../support/browser.js";
import { startNewChat } from "../support/chat-page.js";
import { startRegistry, type LoopbackRegistry } from "../support/registry.js";
import { HELLO_SCRIPT, helloModel } from "../support/scripted-models.js";
import { startServeProcess, type ServeProcess } from "../support/serve-process.js";
import { CHATML_TEMPLATE, scriptedModel } from "../support/test-models.js";

const SECTIONS = ["users", "keys", "models", "status", "dashboards", "logs", "audit"] as const;

let browser: Browser;
let served: ServeProcess;
let registry: LoopbackRegistry;
/** The model layer of `library/held`, whose transfer the registry holds (the cancel test). */
let heldDigest: string;
let releaseHeld: (() => void) | undefined;
const pages: WatchedPage[] = [];

beforeAll(async () => {
  const [hello, held] = await Promise.all([helloModel(), scriptedModel("held-pull", ["Held"])]);
  registry = await startRegistry();
  await registry.addModel("library/pulled", "latest", [
    { mediaType: "application/vnd.ollama.image.model", data: { path: hello } },
    { mediaType: "application/vnd.ollama.image.template", data: Buffer.from(CHATML_TEMPLATE) },
  ]);
  const manifest = await registry.addModel("library/held", "latest", [
    { mediaType: "application/vnd.ollama.image.model", data: { path: held } },
  ]);
  heldDigest = (JSON.parse(manifest.toString()) as { layers: { digest: string }[] }).layers[0]?.digest ?? "";
  [browser, served] = await Promise.all([
    launchBrowser(),
    startServeProcess({
      models: [{ name: "hello", gguf: hello }],
      // Keys must be checked on the APIs (the default, off, serves loopback callers without one).
      args: ["--auth-api", "required"],
      // Samples (and the live pages' refresh) every second: a chat's tokens and a sealed vault show
      // within a second instead of waiting out the default 5 s.
      config: [
        "registry:",
        `  allow_private: ["${registry.host}", "${registry.cdnHost}"]`,
        "metrics:",
        "  sample_interval: 1s",
        "",
      ].join("\n"),
    }),
  ]);
  await served.warm("hello");
}, 120_000);

afterAll(async () => {
  releaseHeld?.();
  for (const page of pages) await page.close().catch(() => undefined);
  await browser?.close();
  await served?.close();
  await registry?.close();
});

/** A new browser context and page at 1280×800 in light, watched; closed at the end of the file. */
async function newPage(): Promise<WatchedPage> {
  const watched = await openPage(browser, { ...DESKTOP, colorScheme: "light" });
  pages.push(watched);
  return watched;
}

const logIn = (page: Page, username: string, password: string) =>
  signIn(page, served.url, username, password);

async function asAdmin(): Promise<WatchedPage> {
  const watched = await newPage();
  await logIn(watched.page, served.admin.username, served.admin.password);
  return watched;
}

let shared: WatchedPage | undefined;

/**
 * The admin's one page, signed in once for the file (each login costs an argon2 hash and an app
 * load); its record of problems starts empty for each test.
 */
async function admin(): Promise<WatchedPage> {
  shared ??= await asAdmin();
  shared.problems.length = 0;
  return shared;
}

/** Opens an admin page (or `settings`) through the app's own navigation. */
async function openSection(page: Page, section: (typeof SECTIONS)[number] | "settings"): Promise<void> {
  if (section === "settings") await page.getByTestId("settings-link").click();
  else await page.locator(`[data-testid="admin-nav-link"][data-section="${section}"]`).click();
  await page.getByTestId(`${section}-page`).waitFor();
  // Loaded, not just shown: a load still in flight would answer after what the test does next
  // (a demotion ending this session turned a late users-page load into a sign-out before the click).
  await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
}

/** What the browser reported besides the failed requests `allowed` expects (by status). */
const unexpected = (problems: string[], allowed: number[] = []) =>
  problems.filter((p) => !allowed.some((status) => p.includes(`status of ${status}`)));

const row = (page: Page, testId: string, attribute: string, value: string) =>
  page.locator(`[data-testid="${testId}"][${attribute}="${value}"]`);

/**
 * The attribute `name` of every element `locator` matches, read in one pass: a list taken first
 * (`locator.all()`) and read element by element went stale when the page re-rendered in between
 * (a level filter), and each read of a vanished element waited out Playwright's 30 s timeout.
 */
const attributes = (locator: Locator, name: string): Promise<(string | null)[]> =>
  locator.evaluateAll(
    // Typed by hand: the tests compile without the DOM library.
    (elements: { getAttribute(name: string): string | null }[], attribute: string) =>
      elements.map((element) => element.getAttribute(attribute)),
    name,
  );

/** Reads a password or key shown once, and dismisses it. */
async function takeSecret(page: Page): Promise<string> {
  const value = await page.getByTestId("secret-value").inputValue();
  await page.getByTestId("secret-dismiss").click();
  return value;
}

describe("the admin console in Chromium", () => {
  let carol = { username: "carol", password: "" };
  /** Carol's page, signed in by the first test (each context costs a renderer start). */
  let carolPage: WatchedPage | undefined;

  it("creates a user with a generated password shown once; they sign in, chat, and never see the admin pages", async () => {
    const owner = await admin();
    await openSection(owner.page, "users");
    await owner.page.getByTestId("user-create-username").fill(carol.username);
    await owner.page.getByTestId("user-create-submit").click();
    carol = { ...carol, password: await takeSecret(owner.page) };
    expect(carol.password).toMatch(/^[A-Za-z0-9]{20}$/);
    expect(await owner.page.getByTestId("secret-once").count()).toBe(0);
    const created = row(owner.page, "user-row", "data-username", carol.username);
    expect(await created.getAttribute("data-status")).toBe("active");

    const user = await newPage();
    carolPage = user;
    await logIn(user.page, carol.username, carol.password);
    expect(await user.page.getByTestId("admin-nav").count()).toBe(0);
    // A new user has no remembered model: choose it once the list has loaded (typing first sent
    // the question with no model, in 2 of 5 CI runs).
    await user.page.getByTestId("model-picker").selectOption({ value: "hello:latest" });
    await user.page.getByTestId("composer").fill("Hi there");
    await user.page.getByTestId("composer").press("Enter");
    const answer = user.page.locator('[data-testid="message"][data-role="assistant"]').last();
    await expect.poll(() => answer.getAttribute("data-status")).toBe("done");
    expect(await answer.textContent()).toContain(HELLO_SCRIPT.join(""));
    // Typing an admin address: the page says so, the server refuses, and no admin nav appears.
    await user.page.goto(`${served.url}/admin/users`);
    await user.page.getByTestId("admin-forbidden").waitFor();
    expect(await user.page.getByTestId("admin-nav").count()).toBe(0);
    expect((await user.page.request.get(`${served.url}/api/admin/users`)).status()).toBe(403);
    expect(unexpected(user.problems, [403])).toEqual([]);
    expect(unexpected(owner.problems)).toEqual([]);
  });

  it("opens sign-up, approves one request and rejects another; resets a password shown once", async () => {
    const { page, problems } = await admin();
    await openSection(page, "users");
    const saved = (enabled: boolean) =>
      page
        .waitForResponse(
          (r) => r.url().endsWith("/api/admin/settings/signup") && r.request().method() === "PUT" && r.ok(),
        )
        .then(async (r) => expect(await r.json()).toEqual({ enabled }));
    const opened = saved(true);
    await page.getByTestId("signup-toggle").check();
    await opened;
    for (const username of ["erin", "frank"]) {
      const response = await fetch(`${served.url}/api/auth/signup`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password: `${username}-password-1` }),
      });
      expect(response.status).toBe(201);
    }
    const closed = saved(false);
    await page.getByTestId("signup-toggle").uncheck();
    await closed;
    await openSection(page, "keys");
    await openSection(page, "users");
    const erin = row(page, "user-row", "data-username", "erin");
    const frank = row(page, "user-row", "data-username", "frank");
    expect(await erin.getAttribute("data-status")).toBe("pending");
    await erin.getByTestId("user-approve").click();
    await expect.poll(() => erin.getAttribute("data-status")).toBe("active");
    await frank.getByTestId("user-reject").click();
    await page.getByTestId("confirm-ok").click();
    await expect.poll(() => frank.count()).toBe(0);

    await erin.getByTestId("user-reset-password").click();
    const password = await takeSecret(page);
    const login = await fetch(`${served.url}/api/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "erin", password }),
    });
    expect(login.status).toBe(200);
    expect(unexpected(problems)).toEqual([]);
  });

  it("a user's API key from Settings works with the openai client until the admin revokes it on the Keys page", async () => {
    let user = carolPage;
    if (user) {
      user.problems.length = 0;
      await user.page.goto(served.url);
    } else {
      user = await newPage();
      await logIn(user.page, carol.username, carol.password);
    }
    await openSection(user.page, "settings");
    // A user's session may grant only what the role allows: no admin scope to choose.
    expect(await user.page.locator('[data-testid="key-scope"][data-scope="admin"]').count()).toBe(0);
    await user.page.getByTestId("key-name").fill("laptop script");
    await user.page.getByTestId("key-create").click();
    const key = await takeSecret(user.page);
    expect(key).toMatch(/^aixcl_/);
    await row(user.page, "own-key-row", "data-name", "laptop script").waitFor();

    const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: key, maxRetries: 0 });
    const reply = await client.chat.completions.create({
      model: "hello:latest",
      messages: [{ role: "user", content: "hi" }],
    });
    expect(reply.choices[0]?.message.content).toBe(HELLO_SCRIPT.join(""));

    const owner = await admin();
    await openSection(owner.page, "keys");
    const keyRow = row(owner.page, "key-row", "data-name", "laptop script");
    await keyRow.getByTestId("key-revoke").click();
    await owner.page.getByTestId("confirm-ok").click();
    await expect.poll(() => keyRow.getAttribute("data-status")).toBe("revoked");
    const refused = await client.chat.completions
      .create({ model: "hello:latest", messages: [{ role: "user", content: "hi" }] })
      .then(
        () => "accepted",
        (error: unknown) =>
          error instanceof OpenAI.APIError ? Number((error as { status?: unknown }).status) : String(error),
      );
    expect(refused).toBe(401);
    expect(unexpected(user.problems)).toEqual([]);
    expect(unexpected(owner.problems)).toEqual([]);
  });

  it("pulls a model with live per-layer progress while another pull is cancelled; the chat's picker lists it", async () => {
    const { page, problems } = await admin();
    await openSection(page, "models");
    releaseHeld = registry.hold(heldDigest);
    const pulled = `${registry.host}/library/pulled:latest`;
    const held = `${registry.host}/library/held:latest`;
    await page.getByTestId("pull-insecure").check();
    await page.getByTestId("pull-name").fill(held);
    await page.getByTestId("pull-submit").click();
    await page.getByTestId("pull-name").fill(pulled);
    await page.getByTestId("pull-submit").click();

    const heldItem = row(page, "pull-item", "data-name", held);
    await heldItem.getByTestId("pull-layer").first().waitFor();
    const done = row(page, "pull-item", "data-name", pulled);
    await expect.poll(() => done.getAttribute("data-state")).toBe("done");
    const layers = done.getByTestId("pull-layer");
    expect(await layers.count()).toBeGreaterThanOrEqual(1);
    expect(Number(await layers.first().getAttribute("data-completed"))).toBeGreaterThan(0);
    expect(await heldItem.getAttribute("data-state")).toBe("running");
    await heldItem.getByTestId("pull-cancel").click();
    await expect.poll(() => heldItem.getAttribute("data-state")).toBe("cancelled");
    releaseHeld();
    releaseHeld = undefined;

    await row(page, "model-row", "data-name", pulled).waitFor();
    await startNewChat(page);
    await expect
      .poll(() => page.getByTestId("model-picker").locator(`option[value="${pulled}"]`).count())
      .toBe(1);
    expect(unexpected(problems)).toEqual([]);
  });

  it("loads and unloads a model, reflected in the running list; shows a model's details", async () => {
    const { page, problems } = await admin();
    await openSection(page, "models");
    const model = row(page, "model-row", "data-name", "hello:latest");
    await expect.poll(() => model.getByTestId("model-capabilities").textContent()).toContain("completion");
    await model.getByTestId("model-details-toggle").click();
    await expect.poll(() => page.getByTestId("model-details").textContent()).toMatch(/Template|no template/);
    // The chats before may have left it loaded: unloaded first, then loaded from here.
    if ((await model.getAttribute("data-loaded")) === "true") {
      await model.getByTestId("model-unload").click();
      await expect.poll(() => model.getAttribute("data-loaded")).toBe("false");
    }
    await model.getByTestId("model-load").click();
    const running = row(page, "running-row", "data-name", "hello:latest");
    await running.waitFor({ timeout: 30_000 });
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      await page.locator(`html[data-theme="${colorScheme}"]`).waitFor({ state: "attached" });
      await screenshot(page, "admin-models-running", { ...DESKTOP, colorScheme });
    }
    await model.getByTestId("model-unload").click();
    await expect.poll(() => running.count()).toBe(0);
    expect(await model.getAttribute("data-loaded")).toBe("false");
    expect(unexpected(problems)).toEqual([]);
  });

  it("pages the audit log and filters it by action", async () => {
    const { page, problems } = await admin();
    await openSection(page, "audit");
    await expect.poll(() => page.getByTestId("audit-row").count()).toBeGreaterThan(0);
    await page.getByTestId("audit-action").fill("user.");
    await page.getByTestId("audit-filter").click();
    await expect
      .poll(async () => {
        const actions = await attributes(page.getByTestId("audit-row"), "data-action");
        return actions.length > 0 && actions.every((action) => action?.startsWith("user."));
      })
      .toBe(true);
    expect(unexpected(problems)).toEqual([]);
  });

  it("an admin demoted while their page is open loses the admin pages on their next action", async () => {
    const owner = await admin();
    const created = await owner.page.request.post(`${served.url}/api/admin/users`, {
      data: { username: "dave", password: "dave-password-1", role: "admin" },
    });
    expect(created.status()).toBe(201);
    const dave = await newPage();
    await logIn(dave.page, "dave", "dave-password-1");
    await openSection(dave.page, "users");

    await openSection(owner.page, "users");
    const daveRow = row(owner.page, "user-row", "data-username", "dave");
    await daveRow.getByTestId("user-role").selectOption("user");
    await expect.poll(() => daveRow.getAttribute("data-role")).toBe("user");

    // The role change ended dave's sessions: the next call answers 401 and the app signs out.
    await dave.page.locator('[data-testid="admin-nav-link"][data-section="keys"]').click();
    await dave.page.getByTestId("login-form").waitFor();
    await logIn(dave.page, "dave", "dave-password-1");
    expect(await dave.page.getByTestId("admin-nav").count()).toBe(0);
    expect(unexpected(dave.problems, [401])).toEqual([]);
    expect(unexpected(owner.problems)).toEqual([]);
  });

  it("screenshots every admin page and settings at 1280×800 (light, dark) and the drawer's admin nav on a phone", async () => {
    const { page, problems } = await admin();
    for (const colorScheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme });
      await page.locator(`html[data-theme="${colorScheme}"]`).waitFor({ state: "attached" });
      for (const section of [...SECTIONS, "settings"] as const) {
        await openSection(page, section);
        // Each page shows content or a readable error, never a blank page.
        // Tables filled (or an error shown): never a blank or half-loaded page.
        await expect.poll(() => page.locator('[aria-busy="true"]').count()).toBe(0);
        // The charts are drawn again in the new theme's colours, just after the page renders.
        if (section === "dashboards") await expect.poll(() => page.locator(".chart canvas").count()).toBe(8);
        await screenshot(page, `admin-${section}`, { ...DESKTOP, colorScheme });
      }
    }
    // The same page at phone width: a context of its own would cost a renderer start and a sign-in.
    await page.setViewportSize(PHONE);
    await page.emulateMedia({ colorScheme: "light" });
    await page.locator('html[data-theme="light"]').waitFor({ state: "attached" });
    await page.getByTestId("menu-button").click();
    await page.locator('[data-testid="admin-nav-link"][data-section="users"]').click();
    await page.getByTestId("users-page").waitFor();
    await screenshot(page, "admin-users", { ...PHONE, colorScheme: "light" });
    await page.getByTestId("menu-button").click();
    await page.getByTestId("admin-nav").waitFor();
    await screenshot(page, "admin-drawer", { ...PHONE, colorScheme: "light" });
    await page.setViewportSize(DESKTOP);
    await page.goto(served.url);
    expect(unexpected(problems)).toEqual([]);
  });
});

describe("the admin console's live pages (health, metrics, logs)", () => {
  it("shows the components' health; a sealed vault shows the unseal form, which unseals it", async () => {
    const { page, problems } = await admin();
    await openSection(page, "status");
    await expect.poll(() => page.getByTestId("health-status").getAttribute("data-status")).toBe("ok");
    // The page refreshes as often as this server samples (1 s here, 5 s by default).
    await expect.poll(() => page.locator(".page-intro").textContent()).toContain("every 1 s");
    for (const name of ["api", "engine", "database", "vault", "models", "metrics"]) {
      await row(page, "health-component", "data-name", name).waitFor();
    }
    expect((await page.request.post(`${served.url}/api/vault/seal`)).ok()).toBe(true);
    await page.getByTestId("vault-unseal-form").waitFor({ timeout: 5_000 });
    await expect
      .poll(() => row(page, "health-component", "data-name", "vault").getAttribute("data-status"))
      .toBe("sealed");
    await page.getByTestId("vault-unseal-submit").click();
    await expect
      .poll(() => row(page, "health-component", "data-name", "vault").getAttribute("data-status"))
      .toBe("ok");
    expect(await page.getByTestId("vault-unseal-form").count()).toBe(0);
    // While sealed the admin route answers 503 vault_sealed (no session can be checked).
    expect(unexpected(problems, [503])).toEqual([]);
  });

  it("charts non-zero generated tokens per second after a chat, read from data-max", async () => {
    const { page, problems } = await admin();
    await startNewChat(page);
    await page.getByTestId("model-picker").selectOption({ value: "hello:latest" });
    await page.getByTestId("composer").fill("Say hello");
    await page.getByTestId("composer").press("Enter");
    await expect
      .poll(() =>
        page.locator('[data-testid="message"][data-role="assistant"]').last().getAttribute("data-status"),
      )
      .toBe("done");
    await openSection(page, "dashboards");
    await page.getByTestId("chart-tokens").waitFor();
    await expect.poll(() => page.locator(".page-intro").textContent()).toContain("every 1 s");
    await expect
      .poll(
        // The range's largest: at 1 s a sample later the last point is 0 again.
        async () => Number(await page.getByTestId("series-generated_tokens_per_s").getAttribute("data-max")),
        {
          timeout: 30_000,
        },
      )
      .toBeGreaterThan(0);
    await page.getByTestId("range-1h").click();
    await page.getByTestId("model-filter").selectOption("hello:latest");
    await expect.poll(() => page.getByTestId("chart-requests").getAttribute("data-last")).not.toBe("");
    expect(unexpected(problems)).toEqual([]);
  });

  it("tails the log live, with a level filter and request ids", async () => {
    const { page, problems } = await admin();
    await openSection(page, "logs");
    await expect.poll(() => page.getByTestId("logs-state").getAttribute("data-live")).toBe("true");
    const before = await page.getByTestId("log-line").count();
    // A failed login logs a warning (with its request id) while the tail is open.
    await page.request.post(`${served.url}/api/auth/login`, {
      data: { username: "nobody", password: "wrong-pass" },
    });
    await expect.poll(() => page.getByTestId("log-line").count()).toBeGreaterThan(before);
    await expect.poll(() => page.getByTestId("log-req-id").count()).toBeGreaterThan(0);
    await page.getByTestId("logs-level").selectOption("error");
    await expect
      .poll(async () =>
        (await attributes(page.getByTestId("log-line"), "data-level")).every(
          (level) => level === "error" || level === "fatal",
        ),
      )
      .toBe(true);
    expect(unexpected(problems)).toEqual([]);
  });
});
