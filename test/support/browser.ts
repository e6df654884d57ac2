/**
 * Real Chromium for the web app's end-to-end tests: Debian's `chromium` package (installed by
 * .ci/run) driven by playwright-core, which downloads no browser. Pages are watched: any dialog
 * (an injected `alert(1)` that ran), console error or uncaught page error is recorded, and tests
 * assert the record is empty. Screenshots go to SCREENSHOT_DIR for a person to look at.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ROOT } from "./build.js";

/** Where the e2e run writes its screenshots (named in the README). */
const SCREENSHOT_DIR = join(ROOT, "test-results", "screenshots");

/** /usr/bin/chromium through a wrapper that turns off the address bar's preloaded popups. */
const EXECUTABLE = join(ROOT, "test", "support", "chromium.sh");

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

export type StorageState = Awaited<ReturnType<BrowserContext["storageState"]>>;

export interface ViewOptions {
  width: number;
  height: number;
  colorScheme: "light" | "dark";
}

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Dialogs, console errors and page errors seen so far (expected: none). */
  problems: string[];
  close(): Promise<void>;
}

/**
 * A fresh context and page, watched for dialogs and errors. `session`: the cookies of a context
 * that logged in before (`context.storageState()`), to start signed in without the login form.
 */
export async function openPage(
  browser: Browser,
  view: ViewOptions,
  session?: StorageState,
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: { width: view.width, height: view.height },
    colorScheme: view.colorScheme,
    deviceScaleFactor: 1,
    ...(session ? { storageState: session } : {}),
  });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("dialog", (dialog) => {
    problems.push(`dialog (${dialog.type()}): ${dialog.message()}`);
    void dialog.dismiss().catch(() => undefined);
  });
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  return { page, context, problems, close: () => context.close() };
}

/** Saves a full-viewport PNG as SCREENSHOT_DIR/<name>-<width>-<scheme>.png. */
export async function screenshot(page: Page, name: string, view: ViewOptions): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}-${view.width}-${view.colorScheme}.png`);
  // CSS transitions (the drawer sliding in) are finished first, so the picture shows the end state.
  await page.screenshot({ path, animations: "disabled" });
  return path;
}

/** Signs in through the app's login form and waits for the chat to show. */
export async function logIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.getByTestId("login-username").fill(username);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("composer").waitFor();
}
