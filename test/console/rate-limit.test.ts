import type { CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { apiUrlOf, createProject, serverEnv, sleep } from "../worker/helpers.js";
import { ciClient, consoleSession } from "./api.js";
import { type Browser, launchBrowser, signIn } from "./browser.js";

const from = (client: string) => ({ "x-forwarded-for": client });

/** A small budget (5 at once, one every 2 s) so the tests can spend it; clients speak through X-Forwarded-For. */
describe("the console's rate limit, per session and per address", () => {
  let database: TestDatabase;
  let metrics: MetricsApp;
  let server: ServerProcess;
  let url: string;
  let project: CreateProjectResponse;
  /** A running deployment: its page is live. */
  let deploymentId: string;

  beforeAll(async () => {
    [database, metrics] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    metrics.script("/app", [values()]);
    server = await startServerProcess(
      serverEnv(database.url, {
        SEQPULSE_CONSOLE_RATE_LIMIT_PER_SECOND: "0.5",
        SEQPULSE_CONSOLE_RATE_LIMIT_BURST: "5",
        SEQPULSE_TRUSTED_PROXIES: "1",
      }),
    );
    url = apiUrlOf(server);
    project = await createProject(url, { metrics_endpoint: metrics.url("/app") });
    ({ deployment_id: deploymentId } = await ciClient(url, project.api_key).trigger({ env: "production" }));
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await metrics?.close();
    await database?.close();
  });

  it("a session's budget spent: 429 HTML page and 429 live poll with Retry-After; assets and other sessions unaffected; allowed again after Retry-After", async () => {
    const client = "203.0.113.21";
    const session = await consoleSession(url, project.api_key, { headers: from(client) });
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let index = 0; index < 10; index++) {
      const response = await session.page(`/deployments/${deploymentId}`);
      statuses.push(response.status);
      if (response.status === 429) limited ??= response;
      else await response.text();
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(4);
    expect(limited?.headers.get("content-type")).toContain("text/html");
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(limited?.headers.get("cache-control")).toBe("no-store");
    const page = await limited?.text();
    expect(page).toContain("<h1>Too many requests</h1>");
    expect(page).toContain("This session sent more than 5 requests at once");

    // The live page's poll: the same answer it normally gets (an HTML fragment), as a 429.
    const poll = await session.page(`/deployments/${deploymentId}?fragment=1`);
    expect(poll.status).toBe(429);
    const retryAfter = Number(poll.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(await poll.text()).not.toContain("<!doctype html>");

    // Assets never spend the budget.
    const asset = await fetch(`${url}/assets/console.js`, {
      headers: { ...from(client), cookie: session.cookie },
    });
    expect(asset.status).toBe(200);
    await asset.text();
    // Another session from the same address has its own bucket.
    const other = await consoleSession(url, project.api_key, { headers: from(client) });
    expect((await other.page(`/deployments/${deploymentId}`)).status).toBe(200);

    await sleep(retryAfter * 1000 + 200);
    expect((await session.page(`/deployments/${deploymentId}`)).status).toBe(200);
  });

  it("before signing in, the budget is per address; API clients on the console's paths are not counted", async () => {
    const spent = "198.51.100.30";
    const signInPage = () => fetch(`${url}/sign-in`, { headers: { ...from(spent), accept: "text/html" } });
    const statuses: number[] = [];
    for (let index = 0; index < 8; index++) {
      const response = await signInPage();
      statuses.push(response.status);
      await response.text();
    }
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    // A signed-out page is refused too, not redirected to the sign-in page.
    const redirect = await fetch(`${url}/projects/${project.project_id}`, {
      redirect: "manual",
      headers: { ...from(spent), accept: "text/html" },
    });
    expect(redirect.status).toBe(429);
    expect(Number(redirect.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(await redirect.text()).toContain("This address sent more than 5 requests at once");

    // Another address is not affected.
    const elsewhere = await fetch(`${url}/sign-in`, {
      headers: { ...from("192.0.2.77"), accept: "text/html" },
    });
    expect(elsewhere.status).toBe(200);
    // The CI API on /deployments/:id from the spent address answers as usual (its own per-key limit).
    for (let index = 0; index < 6; index++) {
      const response = await fetch(`${url}/deployments/${deploymentId}`, {
        headers: { ...from(spent), "x-api-key": project.api_key },
      });
      expect(response.status).toBe(200);
      expect(((await response.json()) as { id: string }).id).toBe(deploymentId);
    }
  });

  describe("in a real browser", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("a live page over the limit backs off (Retry-After, then doubling waits) instead of polling every 2 s", {
      timeout: 60_000,
    }, async () => {
      const { context, page } = await browser.newSession();
      const client = "203.0.113.99";
      await context.setExtraHTTPHeaders(from(client));
      await signIn(page, url, project.api_key, `/deployments/${deploymentId}`);
      await expect(page.locator("main").getAttribute("data-live")).resolves.toBe("true");
      const cookie = (await context.cookies()).find((entry) => entry.name === "seqpulse_session");
      const polls: Array<{ at: number; status: number }> = [];
      page.on("response", (response) => {
        if (response.url().includes("fragment=1")) polls.push({ at: Date.now(), status: response.status() });
      });

      // Something else spends the same session's budget, 5 requests a second, for 16 s.
      const until = Date.now() + 16_000;
      while (Date.now() < until) {
        const response = await fetch(`${url}/deployments/${deploymentId}`, {
          headers: { ...from(client), accept: "text/html", cookie: `seqpulse_session=${cookie?.value}` },
        });
        await response.text();
        await sleep(200);
      }

      // Every 2 s would be 8 polls; backing off after each 429 (4 s, 8 s, 16 s…) leaves at most 4.
      expect(polls.length).toBeGreaterThanOrEqual(1);
      expect(polls.length).toBeLessThanOrEqual(4);
      expect(polls.some((poll) => poll.status === 429)).toBe(true);
      await expect(page.locator(".live-status").textContent()).resolves.toContain("too many requests");
      // The page is still the deployment page, still live: nothing swapped in the error.
      await expect(page.locator("#deployment-state").textContent()).resolves.toContain("Running");
      await expect(page.locator("main").getAttribute("data-live")).resolves.toBe("true");
    });
  });
});

describe("the console's default rate limit leaves people alone", () => {
  let database: TestDatabase;
  let metrics: MetricsApp;
  let server: ServerProcess;

  beforeAll(async () => {
    [database, metrics] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    metrics.script("/app", [values()]);
    server = await startServerProcess(serverEnv(database.url));
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    await metrics?.close();
    await database?.close();
  });

  it("four tabs of a live deployment page polling for a while (ten times faster than the page) never meet a 429", {
    timeout: 60_000,
  }, async () => {
    const url = apiUrlOf(server);
    const project = await createProject(url, { metrics_endpoint: metrics.url("/app") });
    const { deployment_id: id } = await ciClient(url, project.api_key).trigger({ env: "production" });
    const session = await consoleSession(url, project.api_key);
    const statuses = new Map<number, number>();
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);

    const tab = async () => {
      const page = await session.page(`/deployments/${id}`);
      count(page.status);
      const html = await page.text();
      // The page's assets, as a browser without a cache fetches them.
      for (const href of html.matchAll(/(?:href|src)="(\/assets\/[^"]+)"/g)) {
        const asset = await fetch(`${url}${href[1]}`);
        count(asset.status);
        await asset.arrayBuffer();
      }
      // 40 polls 200 ms apart: 80 s of the page's 2 s polling.
      for (let index = 0; index < 40; index++) {
        const poll = await session.page(`/deployments/${id}?fragment=1`);
        count(poll.status);
        expect(poll.headers.get("x-seqpulse-live")).toBe("true");
        await poll.text();
        await sleep(200);
      }
    };
    await Promise.all([tab(), tab(), tab(), tab()]);
    expect([...statuses.keys()]).toEqual([200]);
    expect(statuses.get(200)).toBeGreaterThanOrEqual(4 * 41);
  });
});
