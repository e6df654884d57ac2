/** Steps and lookups on the web chat's page (web/src), for the Chromium tests (test/web/). */
import type { Page } from "playwright-core";

/** Starts a new chat with `model` and sends `text`. */
export async function send(page: Page, text: string, model?: string): Promise<void> {
  if (model !== undefined) await page.getByTestId("model-picker").selectOption({ value: `${model}:latest` });
  await page.getByTestId("composer").fill(text);
  await page.getByTestId("composer").press("Enter");
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
