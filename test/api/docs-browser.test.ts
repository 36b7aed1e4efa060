import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Browser, launchBrowser } from "../console/browser.js";
import { startTestApi, type TestApi } from "../support/api.js";

/** The /docs page in a real headless Chromium that may reach nothing but the test server. */

let api: TestApi;
let browser: Browser;
beforeAll(async () => {
  api = await startTestApi();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await api?.close();
});

describe("GET /docs in a browser", () => {
  it("renders every operation from this server alone, and runs a request", async () => {
    const { page } = await browser.newSession();
    const elsewhere: string[] = [];
    const problems: string[] = [];
    await page.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(api.baseUrl)) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page.on("console", (message) => {
      if (message.type() === "error" || message.type() === "warning") problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(error.message));

    await page.goto(`${api.baseUrl}/docs`);
    await page.locator(".opblock").first().waitFor();
    const document = (await (await fetch(`${api.baseUrl}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.values(document.paths).reduce(
      (count, item) => count + Object.keys(item).length,
      0,
    );
    expect(await page.locator(".opblock").count()).toBe(operations);
    await expect.poll(() => page.locator(".info .title").textContent()).toContain("SeqPulse API");

    // "Try it out" on GET /healthz: the page may call the API it documents.
    const healthz = page.locator("#operations-Health-liveness");
    await healthz.locator(".opblock-summary").click();
    await healthz.getByRole("button", { name: "Try it out" }).click();
    await healthz.getByRole("button", { name: "Execute" }).click();
    const response = healthz.locator(".live-responses-table tbody .response").first();
    await response.waitFor();
    expect(await response.locator(".response-col_status").textContent()).toContain("200");
    expect(await response.locator(".response-col_description").textContent()).toContain('"status": "ok"');

    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  });
});
