import type { CreateProjectResponse, DeploymentDetail } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MetricsApp, startMetricsApp } from "../support/metrics-app.js";
import { type PromApp, startPromApp } from "../support/prom-app.js";
import { findPrometheusBinary, type PrometheusServer, startPrometheus } from "../support/prometheus.js";
import { invariantViolations } from "../worker/helpers.js";
import { type EvidenceWorld, evidenceViolations, historyRows, startEvidenceWorld } from "./world.js";

/**
 * A prom-client application scraped by a real Prometheus, and a real SeqPulse server process that
 * reads it there from trigger to verdict: range queries over the lookback for the baseline, instant
 * queries at each slot time for the post samples, counts from increase().
 */
const binary = findPrometheusBinary();
if (!binary) {
  console.warn("Skipping the Prometheus end-to-end test: no prometheus binary (apt-get install prometheus).");
}

const LATENCY_MS = 120;
/**
 * The app records every request at LATENCY_MS, in the bucket (0.1 s, 0.2 s], whatever the machine's
 * load: histogram_quantile puts the 95th percentile at 195 ms, in milliseconds, not Prometheus' seconds.
 */
const EXPECTED_P95_MS = (0.1 + 0.1 * 0.95) * 1000;
const RPS = 40;
/** A rate() over the interval needs two scrapes in it: 3 s with Prometheus scraping every second. */
const INTERVAL_SECONDS = 3;
const LOOKBACK_SECONDS = 9;
/**
 * How far a count (or rate) may be from what the app served in the interval: increase() and rate()
 * extrapolate from the scrapes inside it, which a loaded machine spaces unevenly.
 */
const COUNT_TOLERANCE = 0.35;

function expectAboutServed(count: number | null, served: number) {
  expect(Number.isInteger(count)).toBe(true);
  expect(count).toBeGreaterThan(served * (1 - COUNT_TOLERANCE));
  expect(count).toBeLessThan(served * (1 + COUNT_TOLERANCE));
}

let world: EvidenceWorld;
let promApp: PromApp;
let prometheus: PrometheusServer;
/** Where the project's JSON metrics endpoint points; SeqPulse must not call it. */
let jsonEndpoint: MetricsApp;
/** When Prometheus first held the app's traffic (its scrapes start late on a loaded machine). */
let firstScrapedAt: number;

/** Requests the app finished in (end − seconds, end]. */
function servedIn(endMs: number, seconds: number): number {
  const from = endMs - seconds * 1000;
  return promApp.served.filter((one) => one.time > from && one.time <= endMs).length;
}

describe.skipIf(!binary)("a prom-client app behind a real Prometheus, from trigger to verdict", () => {
  beforeAll(async () => {
    promApp = await startPromApp({ latencyMs: LATENCY_MS });
    [world, prometheus, jsonEndpoint] = await Promise.all([
      startEvidenceWorld(),
      startPrometheus({ targets: [promApp.target], scrapeIntervalSeconds: 1 }),
      startMetricsApp(),
    ]);
    promApp.setLoad({ requestsPerSecond: RPS, errorShare: 0 });
    await prometheus.waitFor('http_request_duration_seconds_count{job="app"}');
    firstScrapedAt = Date.now();
  }, 60_000);

  afterAll(async () => {
    await world?.close();
    await promApp?.close();
    await prometheus?.stop();
    await jsonEndpoint?.close();
  });

  let project: CreateProjectResponse;
  let detail: DeploymentDetail;

  it("gives a verdict from Prometheus alone", async () => {
    project = await world.project({
      metrics_endpoint: jsonEndpoint.url("/never-called"),
      observation_window_seconds: 3 * INTERVAL_SECONDS,
      sample_interval_seconds: INTERVAL_SECONDS,
      baseline_lookback_seconds: LOOKBACK_SECONDS,
      metrics_source: {
        type: "prometheus",
        url: prometheus.url,
        preset: "prom-client",
        selector: 'job="app"',
      },
    });
    // The whole lookback, and a step before it, holds traffic (and two scrapes a step).
    const trafficFor = LOOKBACK_SECONDS * 1000 + 1500;
    await new Promise((done) => setTimeout(done, Math.max(0, firstScrapedAt + trafficFor - Date.now())));

    detail = await world.deploy(project);
    expect(detail.verdict?.verdict, JSON.stringify(detail.verdict?.reasons)).toBe("ok");
    expect(detail.collection_failures).toEqual([]);
    expect(jsonEndpoint.requestsTo("/never-called")).toEqual([]);
  }, 60_000);

  it("reads each post sample at its slot time, with the interval's counts", () => {
    const post = detail.samples.filter((sample) => sample.phase === "post");
    expect(post.map((sample) => sample.sequence)).toEqual([1, 2, 3]);
    for (const sample of post) {
      const end = Date.parse(sample.collected_at);
      // The interval before the slot, not the time the worker happened to ask.
      expect(sample.period_start).toBe(new Date(end - INTERVAL_SECONDS * 1000).toISOString());
      expect(Date.parse(sample.fetched_at)).toBeGreaterThanOrEqual(end);
      expectAboutServed(sample.requests, servedIn(end, INTERVAL_SECONDS));
      expect(sample.errors).toBe(0);
      expect(sample.metrics.requests_per_sec).toBeGreaterThan(RPS * (1 - COUNT_TOLERANCE));
      expect(sample.metrics.requests_per_sec).toBeLessThan(RPS * (1 + COUNT_TOLERANCE));
      expect(sample.metrics.latency_p95).toBeCloseTo(EXPECTED_P95_MS, 6);
      expect(sample.metrics.error_rate).toBe(0);
      // The preset has no CPU or memory query: not measured, not zero.
      expect(sample.metrics.cpu_usage).toBeNull();
      expect(sample.metrics.memory_usage).toBeNull();
    }
  });

  it("takes the baseline from a range query over the lookback, one observation a step before the trigger", async () => {
    const trigger = Date.parse(detail.started_at);
    const step = INTERVAL_SECONDS * 1000;
    const history = detail.baseline_observations.filter((one) => one.source === "history");
    // Steps end at trigger − 6 s and − 3 s; the one ending at the trigger is the trigger's own sample.
    expect(history.map((one) => [Date.parse(one.start), Date.parse(one.end)])).toEqual([
      [trigger - 3 * step, trigger - 2 * step],
      [trigger - 2 * step, trigger - step],
    ]);
    for (const observation of history) {
      expectAboutServed(observation.requests, servedIn(Date.parse(observation.end), INTERVAL_SECONDS));
      expect(observation.errors).toBe(0);
      expect(observation.metrics.latency_p95).toBeCloseTo(EXPECTED_P95_MS, 6);
    }
    const [atTrigger] = detail.samples;
    expect(atTrigger).toMatchObject({ phase: "baseline", sequence: 0, collected_at: detail.started_at });
    expect(atTrigger?.requests).toBeGreaterThan(0);
    expect(detail.baseline_observations.map((one) => one.source)).toEqual(["history", "history", "sample"]);
    expect((await historyRows(world.database, detail.id)).map((row) => row.sequence)).toEqual([-2, -1]);
  });

  it("leaves the stored evidence consistent", async () => {
    expect(await invariantViolations(world.database.pool)).toEqual([]);
    expect(await evidenceViolations(world.database)).toEqual([]);
  });
});
