/** Steps and lookups on the web chat's page (web/src), for the Chromium tests (test/web/). */
import type { Browser, Page } from "playwright-core";
import { DESKTOP, logIn, openPage, type StorageState, type WatchedPage } from "./browser.js";

/** Starts a new chat with `model` and sends `text`. */
export async function send(page: Page, text: string, model?: string): Promise<void> {
  if (model !== undefined) await page.getByTestId("model-picker").selectOption({ value: `${model}:latest` });
  await page.getByTestId("composer").fill(text);
  await page.getByTestId("composer").press("Enter");
}

/**
 * Opens a new chat and waits until the page shows it, empty. The app clears the chat it showed in
 * an effect after the next frame: a question typed before that went to the old chat, and its last
 * answer, already done, passed for the new one's (a CI run read the previous chat's text).
 */
export async function startNewChat(page: Page): Promise<void> {
  await page.getByTestId("new-chat").click();
  await page.getByTestId("chat-empty").waitFor();
}

/** Switches the system color scheme and waits for the app to follow it (it re-renders async). */
export async function setScheme(page: Page, colorScheme: "light" | "dark"): Promise<void> {
  await page.emulateMedia({ colorScheme });
  // A locator, not waitForFunction: the page's CSP forbids the eval that one would need.
  await page.locator(`html[data-theme="${colorScheme}"]`).waitFor({ state: "attached" });
}

export const messages = (page: Page, role: "user" | "assistant") =>
  page.locator(`[data-testid="message"][data-role="${role}"]`);

/** The id of the conversation the page shows (from its /c/<id> URL). */
export async function conversationId(page: Page): Promise<string> {
  await page.waitForURL(/\/c\/[0-9a-f-]{36}$/);
  return /\/c\/([0-9a-f-]{36})$/.exec(page.url())?.[1] ?? "";
}

export interface AdminPagesOf {
  browser: Browser;
  url: string;
  admin: { username: string; password: string };
  /** Where each opened page goes, for the file to close at its end. */
  pages: WatchedPage[];
}

/**
 * Pages signed in as the admin, for a file whose browser and server `of()` returns once they are
 * started. `fresh()`: a new browser context (the login form the first time, its cookies after).
 * `asAdmin()`: one such page shared by the file's tests, back on a new chat at 1280×800 in light
 * with an empty record of problems: each context is a renderer process, ~1.5 s of CPU to start
 * and load the app. `adopt(page)`: a page the test signed in as the admin itself becomes that
 * shared page, one context fewer.
 */
export function adminPages(of: () => AdminPagesOf): {
  fresh: () => Promise<WatchedPage>;
  asAdmin: () => Promise<WatchedPage>;
  adopt: (watched: WatchedPage) => Promise<void>;
} {
  let session: StorageState | undefined;
  let shared: WatchedPage | undefined;
  const home = async (page: Page, url: string) => {
    await page.goto(url);
    await page.getByTestId("composer").waitFor();
  };
  const fresh = async () => {
    const { browser, url, admin, pages } = of();
    // The cookies alone: with the app's localStorage in it, Playwright opens (and starts a
    // renderer for) one more page to write that storage before the test's own.
    const watched = await openPage(
      browser,
      { ...DESKTOP, colorScheme: "light" },
      session && { cookies: session.cookies, origins: [] },
    );
    pages.push(watched);
    if (session) {
      await home(watched.page, url);
    } else {
      await logIn(watched.page, url, admin.username, admin.password);
      session = await watched.context.storageState();
    }
    return watched;
  };
  return {
    fresh,
    adopt: async (watched) => {
      shared ??= watched;
      session ??= await watched.context.storageState();
    },
    asAdmin: async () => {
      shared ??= await fresh();
      await shared.page.setViewportSize(DESKTOP);
      await shared.page.emulateMedia({ colorScheme: "light" });
      await home(shared.page, of().url);
      shared.problems.length = 0;
      return shared;
    },
  };
}
