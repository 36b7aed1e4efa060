import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium package, which .ci/run installs when it is missing. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

export interface Browser {
  /** A fresh browser profile: its own cookies, nothing from an earlier test. */
  newSession(): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** A real headless Chromium; every session gets a fresh --user-data-dir. */
export async function launchBrowser(): Promise<Browser> {
  const contexts: Array<{ context: BrowserContext; dir: string }> = [];
  return {
    async newSession() {
      const dir = await mkdtemp(join(tmpdir(), "seqpulse-chromium-"));
      const context = await chromium.launchPersistentContext(dir, {
        executablePath: CHROMIUM_PATH,
        headless: true,
        viewport: { width: 1280, height: 900 },
        timezoneId: "Europe/Berlin",
        locale: "en-GB",
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      contexts.push({ context, dir });
      const page = context.pages()[0] ?? (await context.newPage());
      return { context, page };
    },
    async close() {
      for (const { context, dir } of contexts) {
        await context.close().catch(() => {});
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** Signs in through the form as a person would; resolves once the next page loaded. */
export async function signIn(page: Page, baseUrl: string, credential: string, path = "/"): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.getByLabel("API key or admin token").fill(credential);
  await Promise.all([page.waitForLoadState("load"), page.getByRole("button", { name: "Sign in" }).click()]);
}
