import type { CreateProjectResponse } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MetricChart } from "../../server/src/console/charts.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { HEALTHY, jsonBody, type MetricsApp, startMetricsApp } from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  serverEnv,
  tail,
  waitForAnalyzed,
  waitForBaselineSettled,
} from "../worker/helpers.js";
import { ciClient, consoleSession } from "./api.js";

const rule = (direction: "higher_is_worse" | "lower_is_worse", limit: number | null, delta = 0) => ({
  direction,
  limit,
  critical: false,
  tolerance: 0.2,
  regression_min_ratio: 1.5,
  regression_min_delta: delta,
});

/** The chart data a deployment page hands its script, and the page itself. */
async function chartsOf(session: Awaited<ReturnType<typeof consoleSession>>, deploymentId: string) {
  const response = await session.page(`/deployments/${deploymentId}`);
  expect(response.status).toBe(200);
  const html = await response.text();
  const json = /<script type="application\/json" id="chart-data">([^<]*)<\/script>/.exec(html)?.[1];
  expect(json).toBeDefined();
  return { html, charts: JSON.parse(json as string) as MetricChart[] };
}

describe("custom metrics on the deployment page", () => {
  let database: TestDatabase;
  let metrics: MetricsApp;
  let server: ServerProcess;
  let url: string;
  let project: CreateProjectResponse;

  beforeAll(async () => {
    [database, metrics] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    server = await startServerProcess(serverEnv(database.url));
    url = apiUrlOf(server);
    project = await createProject(url, {
      metrics_endpoint: metrics.url("/custom"),
      analysis: {
        custom_metrics: {
          queue_depth: rule("higher_is_worse", 50),
          cache_hit_ratio: rule("lower_is_worse", 0.5, 0.05),
          zz_ruled: rule("higher_is_worse", null),
        },
      },
    });
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    await metrics?.close();
    await database?.close();
  });

  it("charts each custom metric of the samples, baseline vs post, with the rule's limit and the engine's regression threshold", {
    timeout: 60_000,
  }, async () => {
    metrics.script("/custom", [
      jsonBody({ metrics: { ...HEALTHY, queue_depth: 12, cache_hit_ratio: 0.9, jobs_done: 3 } }),
      jsonBody({ metrics: { ...HEALTHY, queue_depth: 30, cache_hit_ratio: 0.85, jobs_done: 4 } }),
    ]);
    const ci = ciClient(url, project.api_key);
    const { deployment_id: id } = await ci.trigger({ env: "production" });
    await waitForBaselineSettled(url, project.api_key, id, server);
    await ci.finish(id);
    await waitForAnalyzed(url, project.api_key, id, { server, timeoutMs: 30_000 });

    const session = await consoleSession(url, project.api_key);
    const { html, charts } = await chartsOf(session, id);
    expect(charts.map((chart) => chart.id)).toEqual([
      "requests_per_sec",
      "latency_p95",
      "error_rate",
      "cpu_usage",
      "memory_usage",
      // Those with a rule first, then by name.
      "custom-cache_hit_ratio",
      "custom-queue_depth",
      "custom-jobs_done",
    ]);
    const byId = new Map(charts.map((chart) => [chart.id, chart]));
    const present = (values: Array<number | null>) => values.filter((value) => value !== null);

    const queue = byId.get("custom-queue_depth");
    expect(queue).toMatchObject({ metric: "queue_depth", custom: true, unit: "value", limit: 50 });
    expect(queue?.direction).toBe("higher_is_worse");
    expect(present(queue?.baseline ?? [])).toEqual([12]);
    expect(new Set(present(queue?.post ?? []))).toEqual(new Set([30]));
    // The engine's rule: worse than the baseline by both ratio 1.5 and delta 0 → 12 + 6.
    expect(queue?.regression).toBe(18);

    // Lower is worse: the limit is a floor, the threshold below the baseline: 0.9 − max(0.45, 0.05).
    const cache = byId.get("custom-cache_hit_ratio");
    expect(cache).toMatchObject({ direction: "lower_is_worse", limit: 0.5 });
    expect(cache?.regression).toBeCloseTo(0.45, 10);

    // No rule: charted, not judged, no lines.
    expect(byId.get("custom-jobs_done")).toMatchObject({ limit: null, regression: null, direction: null });
    expect(html).toContain('id="chart-custom-queue_depth"');
    expect(html).toMatch(
      /id="chart-custom-queue_depth">\s*<figcaption><strong>queue_depth<\/strong>[\s\S]*?limit 50</,
    );
    expect(html).toMatch(/id="chart-custom-jobs_done">[\s\S]*?not judged: no rule/);
    expect(html).not.toContain('id="uncharted-custom"');
  });

  it("charts at most 20 custom metrics and names the others on the page", { timeout: 30_000 }, async () => {
    const many = Object.fromEntries(
      Array.from({ length: 24 }, (_, index) => [`m_${String(index).padStart(2, "0")}`, index]),
    );
    metrics.script("/many", [jsonBody({ metrics: { ...HEALTHY, ...many, zz_ruled: 1 } })]);
    const ci = ciClient(url, project.api_key);
    const { deployment_id: id } = await ci.trigger({ env: "many", metrics_endpoint: metrics.url("/many") });
    await waitForBaselineSettled(url, project.api_key, id, server).catch((error) => {
      throw new Error(`${error}\n${tail(server)}`);
    });

    const session = await consoleSession(url, project.api_key);
    const { html, charts } = await chartsOf(session, id);
    const custom = charts.filter((chart) => chart.custom).map((chart) => chart.metric);
    expect(custom).toHaveLength(20);
    // The metric with a rule comes first, whatever its name.
    expect(custom[0]).toBe("zz_ruled");
    expect(custom.slice(1)).toEqual(Object.keys(many).slice(0, 19));
    const note = /<p class="muted" id="uncharted-custom">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? "";
    expect(note).toContain("25 custom metrics were measured; the page charts 20");
    expect(note).toContain("Not charted: m_19, m_20, m_21, m_22, m_23.");
  });
});
