import { mkdir } from "node:fs/promises";
import type { CreateProjectResponse, DeploymentDetail } from "@seqpulse/types";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Receiver, startReceiver } from "../notifications/receiver.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { HEALTHY, jsonBody, type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  ADMIN_TOKEN,
  apiUrlOf,
  createProject,
  serverEnv,
  tail,
  waitForAnalyzed,
  waitForBaselineSettled,
} from "../worker/helpers.js";
import { ciClient } from "./api.js";
import { type Browser, launchBrowser, signIn } from "./browser.js";

/** `SEQPULSE_UPDATE_SCREENSHOTS=1` rewrites docs/screenshots/*.png from this run. */
const UPDATE_SCREENSHOTS = process.env.SEQPULSE_UPDATE_SCREENSHOTS === "1";
const SCREENSHOTS = new URL("../../docs/screenshots/", import.meta.url);

async function screenshot(page: Page, name: string): Promise<void> {
  if (!UPDATE_SCREENSHOTS) return;
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: new URL(`${name}.png`, SCREENSHOTS).pathname, fullPage: true });
}

describe("the console, in a real headless Chromium against a real server", () => {
  let database: TestDatabase;
  let metrics: MetricsApp;
  let server: ServerProcess;
  let baseUrl: string;
  let browser: Browser;
  let receiver: Receiver;
  let shop: CreateProjectResponse;
  let other: CreateProjectResponse;
  /** The shop's analyzed deployments: production on main (healthy) and staging on feature-x (errors). */
  let healthy: DeploymentDetail;
  let failing: DeploymentDetail;
  let otherDeployment: DeploymentDetail;

  beforeAll(async () => {
    [database, metrics] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    server = await startServerProcess(serverEnv(database.url, { SEQPULSE_WORKER_CONCURRENCY: "16" }));
    baseUrl = apiUrlOf(server);
    browser = await launchBrowser();
    receiver = await startReceiver();
    metrics.script("/healthy", [values()]);
    // The baseline is healthy; every post sample after it fails 30 % of requests.
    // …and reports a custom metric (contract v2), which the shop has a rule for.
    metrics.script("/failing", [
      jsonBody({ metrics: { ...HEALTHY, queue_depth: 5 } }),
      jsonBody({ metrics: { ...HEALTHY, error_rate: 0.3, latency_p95: 420, queue_depth: 6 } }),
    ]);
    shop = await createProject(baseUrl, {
      name: "shop",
      metrics_endpoint: metrics.url("/healthy"),
      analysis: {
        custom_metrics: {
          queue_depth: {
            direction: "higher_is_worse",
            limit: 100,
            critical: false,
            tolerance: 0.2,
            regression_min_ratio: 1.5,
            regression_min_delta: 0,
          },
        },
      },
    });
    other = await createProject(baseUrl, { name: "ledger", metrics_endpoint: metrics.url("/healthy") });

    const shopCi = ciClient(baseUrl, shop.api_key);
    const runs = [
      {
        client: shopCi,
        key: shop.api_key,
        body: { env: "production", branch: "main", commit_sha: "3f2a9c1d" },
      },
      {
        client: shopCi,
        key: shop.api_key,
        body: {
          env: "staging",
          branch: "feature-x",
          commit_sha: "b7e41aa0",
          metrics_endpoint: metrics.url("/failing"),
          ci: {
            provider: "github",
            repository: "acme/shop",
            run_url: "https://github.com/acme/shop/actions/runs/42",
            workflow: "deploy",
          },
        },
      },
      { client: ciClient(baseUrl, other.api_key), key: other.api_key, body: { env: "production" } },
    ];
    // Triggered one after the other, so that deployment numbers (the list's order) follow `runs`.
    const ids: string[] = [];
    for (const { client, body } of runs) ids.push((await client.trigger(body)).deployment_id);
    const analyzed = await Promise.all(
      runs.map(async ({ client, key }, index) => {
        const id = ids[index] as string;
        await waitForBaselineSettled(baseUrl, key, id, server);
        await client.finish(id);
        return waitForAnalyzed(baseUrl, key, id, { server, timeoutMs: 30_000 });
      }),
    );
    [healthy, failing, otherDeployment] = analyzed as [DeploymentDetail, DeploymentDetail, DeploymentDetail];
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await Promise.all([metrics?.close(), receiver?.close()]);
    await database?.close();
  });

  it("signs in with a project key, lists its deployments, and never shows the key", async () => {
    const { context, page } = await browser.newSession();
    await page.goto(`${baseUrl}/`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
    await screenshot(page, "sign-in");
    await signIn(page, baseUrl, shop.api_key);

    expect(new URL(page.url()).pathname).toBe(`/projects/${shop.project_id}`);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("shop: deployments");
    const rows = page.locator("table.deployments tbody tr");
    await expect(rows.count()).resolves.toBe(2);
    await expect(rows.nth(0).textContent()).resolves.toContain("staging");
    await expect(rows.nth(1).textContent()).resolves.toContain("production");
    // The other project's deployment is not listed.
    await expect(page.locator(`[data-deployment-id="${otherDeployment.id}"]`).count()).resolves.toBe(0);
    expect(await page.content()).not.toContain(shop.api_key);
    expect(page.url()).not.toContain(shop.api_key);

    const [session] = (await context.cookies()).filter((cookie) => cookie.name === "seqpulse_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", secure: false, path: "/" });
    expect(session?.value).not.toContain(shop.api_key);
    // Times are shown in the viewer's zone by the page script; the ISO instant stays in the markup.
    const started = page.locator("table.deployments time").first();
    await expect(started.textContent()).resolves.not.toContain("UTC");
    await expect(started.getAttribute("title")).resolves.toMatch(/^\d{4}-\d\d-\d\dT/);
    await screenshot(page, "deployments");
  });

  it("filters the list by environment, state, verdict and branch", async () => {
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, shop.api_key);
    const listed = async () =>
      page
        .locator("table.deployments tbody tr")
        .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-deployment-id")));

    await page.getByLabel("Environment").selectOption("staging");
    await Promise.all([page.waitForURL(/env=staging/), page.getByRole("button", { name: "Filter" }).click()]);
    await expect(listed()).resolves.toEqual([failing.id]);

    await page.goto(`${baseUrl}/projects/${shop.project_id}?branch=main`);
    await expect(listed()).resolves.toEqual([healthy.id]);
    await expect(page.getByLabel("Branch").inputValue()).resolves.toBe("main");

    const verdict = healthy.verdict?.verdict as string;
    await page.goto(`${baseUrl}/projects/${shop.project_id}`);
    await page.getByLabel("Verdict").selectOption(verdict);
    await Promise.all([page.waitForURL(/verdict=/), page.getByRole("button", { name: "Filter" }).click()]);
    const expected = [failing, healthy].filter((d) => d.verdict?.verdict === verdict).map((d) => d.id);
    await expect(listed()).resolves.toEqual(expected);

    await page.goto(`${baseUrl}/projects/${shop.project_id}?state=running`);
    await expect(listed()).resolves.toEqual([]);
    await expect(page.locator(".empty").textContent()).resolves.toContain("No deployment matches");

    const response = await page.goto(`${baseUrl}/projects/${shop.project_id}?state=exploded`);
    expect(response?.status()).toBe(400);
    await expect(page.locator("main").textContent()).resolves.toContain("state");
  });

  it("shows a deployment: verdict, reasons, CI links, failures, timeline, and the limit on the charts", async () => {
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, shop.api_key, `/deployments/${failing.id}`);
    // The deep link survives the sign-in.
    expect(new URL(page.url()).pathname).toBe(`/deployments/${failing.id}`);

    const verdict = failing.verdict;
    expect(verdict).not.toBeNull();
    await expect(page.locator("#verdict-value").textContent()).resolves.toContain(
      `${Math.round((verdict?.confidence ?? 0) * 100)} %`,
    );
    await expect(page.locator(".summary").textContent()).resolves.toBe(verdict?.summary);
    for (const reason of verdict?.reasons ?? []) {
      await expect(page.getByText(reason.message, { exact: true }).count()).resolves.toBeGreaterThan(0);
    }
    const commit = page.getByRole("link", { name: "b7e41aa0" });
    await expect(commit.getAttribute("href")).resolves.toBe("https://github.com/acme/shop/commit/b7e41aa0");
    await expect(page.getByRole("link", { name: "acme/shop" }).getAttribute("href")).resolves.toBe(
      "https://github.com/acme/shop",
    );
    await expect(page.getByRole("link", { name: "deploy", exact: true }).getAttribute("href")).resolves.toBe(
      "https://github.com/acme/shop/actions/runs/42",
    );

    const timeline = await page.locator(".timeline li").allTextContents();
    expect(timeline[0]).toContain("Triggered on feature-x");
    expect(timeline.some((entry) => entry.includes("Baseline observation"))).toBe(true);
    expect(timeline.some((entry) => entry.includes("Pipeline finished: success"))).toBe(true);
    expect(timeline.filter((entry) => /Post sample \d/.test(entry))).toHaveLength(
      failing.samples.filter((s) => s.phase === "post").length +
        failing.collection_failures.filter((f) => f.phase === "post").length,
    );
    expect(timeline.at(-1)).toContain("Verdict:");

    const limit = shop.analysis.latency_p95.limit * shop.analysis.safety_factor;
    const plotted = (id: string) =>
      page.evaluate((key) => {
        const plot = (
          globalThis as unknown as {
            SeqPulseCharts: Record<
              string,
              { series: { label?: string }[]; data: number[][]; ctx: { canvas: { width: number } } }
            >;
          }
        ).SeqPulseCharts[key];
        if (!plot) return null;
        const labels = plot.series.map((series) => series.label ?? "");
        return { labels, limit: plot.data[labels.indexOf("Limit")], width: plot.ctx.canvas.width };
      }, id);
    const chart = await plotted("latency_p95");
    expect(chart?.labels).toEqual(["Time", "Baseline", "Post", "Limit", "Regression threshold"]);
    expect(new Set(chart?.limit)).toEqual(new Set([limit]));
    expect(chart?.width).toBeGreaterThan(0);
    await expect(page.locator("#chart-latency_p95 figcaption").textContent()).resolves.toContain(
      `limit ${limit} ms`,
    );
    // The custom metric has its own chart, with the rule's limit as given.
    const custom = await plotted("custom-queue_depth");
    expect(custom?.labels).toEqual(["Time", "Baseline", "Post", "Limit", "Regression threshold"]);
    expect(new Set(custom?.limit)).toEqual(new Set([100]));
    expect(custom?.width).toBeGreaterThan(0);
    await expect(page.locator("#chart-custom-queue_depth canvas").count()).resolves.toBeGreaterThan(0);
    await expect(page.locator("#chart-custom-queue_depth figcaption").textContent()).resolves.toContain(
      "limit 100",
    );
    await screenshot(page, "deployment");
    await page.emulateMedia({ colorScheme: "dark" });
    await screenshot(page, "deployment-dark");
  });

  it("updates a running deployment's page by itself until its verdict appears", {
    timeout: 60_000,
  }, async () => {
    const ci = ciClient(baseUrl, shop.api_key);
    const { deployment_id: id } = await ci.trigger({ env: "canary", branch: "main" });
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, shop.api_key, `/deployments/${id}`);
    await expect(page.locator("#deployment-state").textContent()).resolves.toContain("Running");
    await expect(page.locator("#verdict-pending").isVisible()).resolves.toBe(true);
    await page.evaluate(() => {
      (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
    });

    await page.locator(".timeline li", { hasText: "Baseline observation" }).waitFor({ timeout: 20_000 });
    await ci.finish(id);
    await page
      .locator(".timeline li", { hasText: "Pipeline finished: success" })
      .waitFor({ timeout: 20_000 });
    await page.locator(".timeline li", { hasText: "Post sample 1" }).waitFor({ timeout: 20_000 });
    await page
      .locator("#verdict-value")
      .waitFor({ timeout: 30_000 })
      .catch((error) => {
        throw new Error(`${error}\n${tail(server)}`);
      });
    const detail = await ci.get(id);
    expect(detail.state).toBe("analyzed");
    await expect(page.locator("#deployment-state").textContent()).resolves.toContain("Analyzed");
    await expect(page.locator(".summary").textContent()).resolves.toBe(detail.verdict?.summary);
    // The page changed in place: no navigation happened.
    await expect(
      page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
    ).resolves.toBe(true);
    await expect(page.locator("main").getAttribute("data-live")).resolves.toBe("false");
  });

  it("shows a new deployment on the open list without a reload", async () => {
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, shop.api_key);
    await page.evaluate(() => {
      (globalThis as unknown as { sameDocument: boolean }).sameDocument = true;
    });
    const { deployment_id: id } = await ciClient(baseUrl, shop.api_key).trigger({
      env: "preview",
      branch: "pr-7",
    });
    const row = page.locator(`[data-deployment-id="${id}"]`);
    await row.waitFor({ timeout: 15_000 });
    await expect(row.textContent()).resolves.toContain("Running");
    await expect(row.textContent()).resolves.toContain("pr-7");
    await expect(
      page.evaluate(() => (globalThis as unknown as { sameDocument?: boolean }).sameDocument),
    ).resolves.toBe(true);
  });

  it("records a manual decision, shows it, and returns it from GET /deployments/:id", async () => {
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, shop.api_key, `/deployments/${failing.id}`);
    await page.getByLabel("Verdict accepted (false alarm or known risk)").check();
    await page.getByLabel("Note").fill("Known: the staging payment stub errors on purpose.");
    await Promise.all([
      page.waitForURL(/#decision$/),
      page.getByRole("button", { name: "Save decision" }).click(),
    ]);
    await expect(page.locator("#decision-value").textContent()).resolves.toContain("Verdict accepted");
    await expect(page.locator("#decision blockquote").textContent()).resolves.toBe(
      "Known: the staging payment stub errors on purpose.",
    );
    const detail = await ciClient(baseUrl, shop.api_key).get(failing.id);
    expect(detail.decision).toMatchObject({
      decision: "accepted",
      note: "Known: the staging payment stub errors on purpose.",
      decided_by: `project key ${shop.api_key.split("_")[1]}`,
    });
    expect(Date.parse(detail.decision?.decided_at ?? "")).toBeGreaterThan(
      Date.parse(failing.verdict?.created_at ?? ""),
    );
    await expect(page.locator(".timeline li").last().textContent()).resolves.toContain(
      "Verdict accepted by project key",
    );
  });

  it("signs in with the admin token and sees every project", async () => {
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, ADMIN_TOKEN);
    expect(new URL(page.url()).pathname).toBe("/");
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Projects");
    await expect(page.getByRole("link", { name: "shop", exact: true }).count()).resolves.toBe(1);
    await expect(page.getByRole("link", { name: "ledger", exact: true }).count()).resolves.toBe(1);
    expect(await page.content()).not.toContain(ADMIN_TOKEN);
    await screenshot(page, "projects");
    await page.getByRole("link", { name: "ledger", exact: true }).click();
    await page.waitForURL(`**/projects/${other.project_id}`);
    await page.locator(`[data-deployment-id="${otherDeployment.id}"] a`).click();
    await page.waitForURL(`**/deployments/${otherDeployment.id}`);
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
      "ledger · production #1",
    );
  });

  it("lets the admin add a webhook, shows its secret once, sends a test and shows the delivery log", async () => {
    receiver.setup("/console-hook", { steps: [{ status: 200 }] });
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, ADMIN_TOKEN, `/projects/${shop.project_id}/notifications`);
    await page.getByLabel("Name").fill("ops webhook");
    await page.getByLabel("Kind").selectOption("webhook");
    await page.getByLabel("URL").fill(receiver.url("/console-hook"));
    await page.getByLabel("deployment.abandoned").uncheck();
    await page.getByLabel("Verdicts to send").selectOption("warning");
    await Promise.all([
      page.waitForLoadState("load"),
      page.getByRole("button", { name: "Add destination" }).click(),
    ]);
    const secret = (await page.locator("#new-secret").textContent()) ?? "";
    expect(secret).toMatch(/^whsec_/);
    receiver.setSecret("/console-hook", secret);
    const card = page.locator("section.destination", { hasText: "ops webhook" });
    await expect(card.textContent()).resolves.toContain("verdict, verdict.decided");
    await expect(card.textContent()).resolves.toContain("warning and above");

    await Promise.all([
      page.waitForLoadState("load"),
      card.getByRole("button", { name: "Send test" }).click(),
    ]);
    expect(await page.content()).not.toContain(secret);
    const [request] = await receiver.waitFor("/console-hook", (seen) => seen.some((r) => r.answered === 200));
    expect(request?.signatureProblem).toBeNull();
    expect(JSON.parse(request?.body ?? "{}")).toMatchObject({ event: "test", project: { name: "shop" } });
    await page.reload();
    await expect(
      page.locator("section.destination table.deliveries tbody tr").first().textContent(),
    ).resolves.toMatch(/test\s*delivered\s*1.*200/s);
    await screenshot(page, "notifications");

    // A project session sees the log but cannot change destinations.
    const viewer = await browser.newSession();
    await signIn(viewer.page, baseUrl, shop.api_key, `/projects/${shop.project_id}/notifications`);
    await expect(viewer.page.getByRole("button", { name: "Send test" }).count()).resolves.toBe(0);
    await expect(viewer.page.locator("table.deliveries tbody tr").count()).resolves.toBeGreaterThan(0);
  });

  it("signs out: the session ends and pages ask for a sign-in again", async () => {
    const { context, page } = await browser.newSession();
    await signIn(page, baseUrl, shop.api_key);
    await Promise.all([
      page.waitForURL("**/sign-in"),
      page.getByRole("button", { name: "Sign out" }).click(),
    ]);
    expect((await context.cookies()).some((cookie) => cookie.name === "seqpulse_session")).toBe(false);
    await page.goto(`${baseUrl}/projects/${shop.project_id}`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
  });
});

describe("the console refuses what it must, in a real browser", () => {
  let database: TestDatabase;
  let server: ServerProcess;
  let baseUrl: string;
  let browser: Browser;
  let shop: CreateProjectResponse;
  let other: CreateProjectResponse;
  let shopDeploymentId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startServerProcess(serverEnv(database.url));
    baseUrl = apiUrlOf(server);
    browser = await launchBrowser();
    shop = await createProject(baseUrl, { name: "shop", metrics_endpoint: "http://127.0.0.1:9/metrics" });
    other = await createProject(baseUrl, { name: "ledger", metrics_endpoint: "http://127.0.0.1:9/metrics" });
    shopDeploymentId = (
      await ciClient(baseUrl, shop.api_key).trigger({ env: "production", branch: "secret-branch" })
    ).deployment_id;
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await database?.close();
  });

  it("refuses a wrong key without creating a session", async () => {
    const { context, page } = await browser.newSession();
    await page.goto(`${baseUrl}/sign-in`);
    await page
      .getByLabel("API key or admin token")
      .fill(`sp_${shop.api_key.split("_")[1]}_${"x".repeat(43)}`);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/sign-in") && r.request().method() === "POST"),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    expect(response.status()).toBe(401);
    await expect(page.getByRole("alert").textContent()).resolves.toBe(
      "That is not a valid project API key or admin token.",
    );
    expect((await context.cookies()).some((cookie) => cookie.name === "seqpulse_session")).toBe(false);
    await page.goto(`${baseUrl}/projects/${shop.project_id}`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
  });

  it("does not let a project session read another project's deployment or list", async () => {
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, other.api_key);
    const deployment = await page.goto(`${baseUrl}/deployments/${shopDeploymentId}`);
    expect(deployment?.status()).toBe(404);
    const text = (await page.locator("main").textContent()) ?? "";
    expect(text).toContain("There is no such deployment");
    expect(text).not.toContain("secret-branch");
    expect(text).not.toContain("shop");
    const list = await page.goto(`${baseUrl}/projects/${shop.project_id}`);
    expect(list?.status()).toBe(404);
    const fragment = await page.request.get(`${baseUrl}/deployments/${shopDeploymentId}?fragment=1`, {
      headers: { accept: "text/html" },
    });
    expect(fragment.status()).toBe(404);
    expect(await fragment.text()).not.toContain("secret-branch");
  });

  it("refuses forms without the CSRF token, and keeps the session", async () => {
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, shop.api_key);
    for (const form of [{}, { _csrf: "forged" }] as Array<Record<string, string>>) {
      const signOut = await page.request.post(`${baseUrl}/sign-out`, { form, maxRedirects: 0 });
      expect(signOut.status()).toBe(403);
      expect(await signOut.text()).toContain("security token is missing or out of date");
    }
    const decision = await page.request.post(`${baseUrl}/deployments/${shopDeploymentId}/decision`, {
      form: { decision: "accepted", note: "forged" },
      maxRedirects: 0,
    });
    expect(decision.status()).toBe(403);
    const { rows } = await database.pool.query(
      "select 1 from deployment_decisions where deployment_id = $1",
      [shopDeploymentId],
    );
    expect(rows).toEqual([]);
    // Still signed in: the refused forms changed nothing.
    await page.goto(`${baseUrl}/projects/${shop.project_id}`);
    expect(new URL(page.url()).pathname).toBe(`/projects/${shop.project_id}`);
    // A sign-in form posted without the visitor's token is refused too, even with a valid key.
    const fresh = await browser.newSession();
    const signInPost = await fresh.page.request.post(`${baseUrl}/sign-in`, {
      form: { credential: shop.api_key, return_to: "/" },
      maxRedirects: 0,
    });
    expect(signInPost.status()).toBe(403);
    expect((await fresh.context.cookies()).some((cookie) => cookie.name === "seqpulse_session")).toBe(false);
  });

  it("ends a disabled project's sessions and refuses its key at sign-in", async () => {
    const disabled = await createProject(baseUrl, {
      name: "paused",
      metrics_endpoint: "http://127.0.0.1:9/metrics",
    });
    const { page } = await browser.newSession();
    await signIn(page, baseUrl, disabled.api_key);
    expect(new URL(page.url()).pathname).toBe(`/projects/${disabled.project_id}`);
    await database.pool.query("update projects set disabled_at = now() where id = $1", [disabled.project_id]);
    await page.goto(`${baseUrl}/projects/${disabled.project_id}`);
    expect(new URL(page.url()).pathname).toBe("/sign-in");
    await page.getByLabel("API key or admin token").fill(disabled.api_key);
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith("/sign-in") && r.request().method() === "POST"),
      page.getByRole("button", { name: "Sign in" }).click(),
    ]);
    expect(response.status()).toBe(403);
    await expect(page.getByRole("alert").textContent()).resolves.toContain('Project "paused" is disabled');
  });

  it("returns only to paths on this server after signing in", async () => {
    const { page } = await browser.newSession();
    for (const target of [
      "//evil.example/steal",
      "https://evil.example/",
      "/\\evil.example",
      "javascript:alert(1)",
    ]) {
      await page.goto(`${baseUrl}/sign-in?return_to=${encodeURIComponent(target)}`);
      await page.getByLabel("API key or admin token").fill(shop.api_key);
      await Promise.all([
        page.waitForLoadState("load"),
        page.getByRole("button", { name: "Sign in" }).click(),
      ]);
      expect(new URL(page.url()).origin).toBe(baseUrl);
      expect(new URL(page.url()).pathname).toBe(`/projects/${shop.project_id}`);
      await page.context().clearCookies();
    }
  });

  it("still answers API clients with JSON on the deployment path the console uses", async () => {
    const response = await fetch(`${baseUrl}/deployments/${shopDeploymentId}`, {
      headers: { "x-api-key": shop.api_key, accept: "text/html,application/json" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(((await response.json()) as DeploymentDetail).decision).toBeNull();
    const anonymous = await fetch(`${baseUrl}/deployments/${shopDeploymentId}`);
    expect(anonymous.status).toBe(401);
  });
});
