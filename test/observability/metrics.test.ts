import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { type MetricsApp, startMetricsApp, values } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  finish,
  serverEnv,
  tail,
  trigger,
  waitForAnalyzed,
  waitForBaselineSettled,
  waitUntil,
} from "../worker/helpers.js";

const METRICS_TOKEN = "metrics-token-0123456789abcdef";

/** The value of one series of a Prometheus text exposition, or undefined when absent. */
function seriesValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const matches = Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`));
    if (matches) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return undefined;
}

async function scrape(url: string, token?: string) {
  const response = await fetch(
    `${url}/metrics`,
    token ? { headers: { authorization: `Bearer ${token}` } } : {},
  );
  return { status: response.status, type: response.headers.get("content-type"), text: await response.text() };
}

describe("GET /metrics: SeqPulse's own metrics", () => {
  let database: TestDatabase;
  let app: MetricsApp;
  let api: ServerProcess;
  let worker: ServerProcess;
  let workerUrl: string;

  beforeAll(async () => {
    [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    const env = serverEnv(database.url, { SEQPULSE_METRICS_TOKEN: METRICS_TOKEN });
    [api, worker] = await Promise.all([
      startServerProcess({ ...env, SEQPULSE_ROLE: "api" }),
      startServerProcess({ ...env, SEQPULSE_ROLE: "worker" }),
    ]);
    const line = worker
      .output()
      .split("\n")
      .find((entry) => entry.includes('"worker health and metrics listening"'));
    workerUrl = (JSON.parse(line ?? "{}") as { url: string }).url;
  });
  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await app?.close();
    await database?.close();
  });

  it("refuses a scrape without the token, and with a wrong one", async () => {
    expect((await scrape(apiUrlOf(api))).status).toBe(401);
    expect((await scrape(apiUrlOf(api), "wrong-token-0123456789abcdef")).status).toBe(401);
    expect((await scrape(workerUrl)).status).toBe(401);
  });

  it("counts requests by route template, triggers by outcome, samples, lateness and verdicts", async () => {
    const apiUrl = apiUrlOf(api);
    app.script("/observed", [values()]);
    const project = await createProject(apiUrl, { metrics_endpoint: app.url("/observed") });
    const triggered = await trigger(apiUrl, project.api_key);
    // The same env again joins the running deployment.
    const joined = await fetch(`${apiUrl}/deployments/trigger`, {
      method: "POST",
      headers: { "x-api-key": project.api_key, "content-type": "application/json" },
      body: JSON.stringify({ env: "production" }),
    });
    expect(joined.status).toBe(200);
    await waitForBaselineSettled(apiUrl, project.api_key, triggered.deployment_id, worker);
    await finish(apiUrl, project.api_key, triggered.deployment_id);
    await waitForAnalyzed(apiUrl, project.api_key, triggered.deployment_id, { server: worker });

    const fromApi = await scrape(apiUrl, METRICS_TOKEN);
    expect(fromApi.status).toBe(200);
    expect(fromApi.type).toContain("text/plain");
    expect(
      seriesValue(fromApi.text, "seqpulse_http_request_duration_seconds_count", {
        method: "POST",
        route: "/deployments/trigger",
        status: "201",
      }),
    ).toBe(1);
    // Ids never become labels: the detail route is counted under its template.
    expect(fromApi.text).toContain('route="/deployments/:id"');
    expect(fromApi.text).not.toContain(triggered.deployment_id);
    expect(seriesValue(fromApi.text, "seqpulse_triggers_total", { outcome: "created" })).toBe(1);
    expect(seriesValue(fromApi.text, "seqpulse_triggers_total", { outcome: "joined" })).toBe(1);
    expect(seriesValue(fromApi.text, "seqpulse_deployments", { state: "analyzed" })).toBe(1);
    expect(fromApi.text).toContain("seqpulse_process_resident_memory_bytes");

    const fromWorker = await waitUntil(
      "the worker's counters",
      async () => {
        const scraped = await scrape(workerUrl, METRICS_TOKEN);
        return (seriesValue(scraped.text, "seqpulse_verdicts_total", { verdict: "ok" }) ?? 0) >= 1 && scraped;
      },
      { context: () => tail(worker) },
    );
    expect(
      seriesValue(fromWorker.text, "seqpulse_samples_total", { phase: "post", outcome: "collected" }),
    ).toBe(3);
    expect(
      seriesValue(fromWorker.text, "seqpulse_samples_total", { phase: "baseline", outcome: "collected" }),
    ).toBe(1);
    expect(seriesValue(fromWorker.text, "seqpulse_sample_lateness_seconds_count", { phase: "post" })).toBe(3);
    expect(fromWorker.text).toMatch(
      /seqpulse_queue_oldest_due_job_age_seconds\{queue="seqpulse.collect-sample"\} /,
    );
    expect((await fetch(`${workerUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${workerUrl}/readyz`)).status).toBe(200);
    // A worker serves no API.
    expect((await fetch(`${workerUrl}/deployments`)).status).toBe(404);
  });
});
