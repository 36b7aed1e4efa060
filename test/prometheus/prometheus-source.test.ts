import http from "node:http";
import type { AddressInfo } from "node:net";
import { PrometheusMetricsSource } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type PrometheusReadOptions,
  queryPrometheusBaseline,
  queryPrometheusSample,
} from "../../server/src/sampling/prometheus.js";
import {
  MICROMETER_HEAP_SHARE,
  MICROMETER_PROCESS_CPU,
  type PromApp,
  startPromApp,
} from "../support/prom-app.js";
import { findPrometheusBinary, type PrometheusServer, startPrometheus } from "../support/prometheus.js";

const binary = findPrometheusBinary();
if (!binary) {
  console.warn("Skipping the Prometheus source tests: no prometheus binary (apt-get install prometheus).");
}

const LATENCY_MS = 120;
/**
 * The app records every request at LATENCY_MS, in the bucket (0.1 s, 0.2 s], whatever the machine's
 * load: histogram_quantile interpolates 95 % into that bucket, exactly, in milliseconds.
 */
const EXPECTED_P95_MS = (0.1 + 0.1 * 0.95) * 1000;
const RPS = 40;
const PHASE_MS = 4500;
const INTERVAL_SECONDS = 3;
const TOKEN = "prom-bearer-7f3a9c-do-not-leak";
/** Label values that need every kind of escaping, and one that tries to break out of the literal. */
const TRICKY_BRANCH = 'release/1.2 "rc" it\'s\\back\\slash\nline2\ttab';
const INJECTION_BRANCH = 'x"} or vector(666) or up{job="';

let app: PromApp;
let prometheus: PrometheusServer;
let proxy: http.Server;
let proxyUrl: string;
/** End of the phase without errors, and of the phase with 25 % errors. */
let cleanEnd: Date;
let failingEnd: Date;

/** A bearer-token proxy in front of Prometheus, as teams put one. */
async function startAuthProxy(target: string): Promise<http.Server> {
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${TOKEN}`) {
      res.writeHead(401, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: `bad credentials: ${req.headers.authorization ?? "none"}` }));
      return;
    }
    const forwarded = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: req.headers,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on("error", () => res.writeHead(502).end());
    req.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

function options(source: unknown, overrides: Partial<PrometheusReadOptions> = {}): PrometheusReadOptions {
  return {
    source: PrometheusMetricsSource.parse(source),
    deployment: { env: "production", commitSha: "abc1234", branch: "main" },
    timeoutMs: 5000,
    maxBodyBytes: 64 * 1024,
    allowPrivate: true,
    userAgent: "SeqPulse-Test/1.0",
    ...overrides,
  };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Requests the app finished in (end - seconds, end]. */
function servedIn(end: Date, seconds: number, status?: number): number {
  const from = end.getTime() - seconds * 1000;
  return app.served.filter(
    (one) => one.time > from && one.time <= end.getTime() && (status === undefined || one.status === status),
  ).length;
}

describe.skipIf(!binary)("Prometheus metrics source against a real Prometheus", () => {
  beforeAll(async () => {
    app = await startPromApp({ latencyMs: LATENCY_MS, branches: [TRICKY_BRANCH, "main"] });
    prometheus = await startPrometheus({ targets: [app.target], scrapeIntervalSeconds: 1 });
    proxy = await startAuthProxy(prometheus.url);
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    app.setLoad({ requestsPerSecond: RPS, errorShare: 0 });
    await prometheus.waitFor('http_request_duration_seconds_count{job="app"}');
    // A few seconds of clean traffic, then a quarter of requests failing.
    await sleep(PHASE_MS);
    cleanEnd = new Date();
    app.setLoad({ requestsPerSecond: RPS, errorShare: 0.25 });
    await sleep(PHASE_MS);
    failingEnd = new Date();
    // Let the scrape after failingEnd land.
    await sleep(1500);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await new Promise((resolve) => (proxy ? proxy.close(resolve) : resolve(undefined)));
    await prometheus?.stop();
  });

  const promClient = () => ({
    type: "prometheus",
    url: prometheus.url,
    preset: "prom-client",
    selector: 'job="app"',
  });

  it("reads rate, p95, error ratio and counts at a slot time, with the prom-client preset", async () => {
    const clean = await queryPrometheusSample(options(promClient()), {
      time: cleanEnd,
      intervalSeconds: INTERVAL_SECONDS,
    });
    if (!clean.ok) throw new Error(clean.reason);
    expect(clean.observation.start).toEqual(new Date(cleanEnd.getTime() - INTERVAL_SECONDS * 1000));
    expect(clean.observation.end).toEqual(cleanEnd);
    expect(Object.keys(clean.observation.metrics).sort()).toEqual([
      "error_rate",
      "latency_p95",
      "requests_per_sec",
    ]);
    expect(clean.observation.metrics.requests_per_sec).toBeGreaterThan(RPS * 0.85);
    expect(clean.observation.metrics.requests_per_sec).toBeLessThan(RPS * 1.15);
    expect(clean.observation.metrics.latency_p95).toBeCloseTo(EXPECTED_P95_MS, 6);
    // No 5xx series exists yet: the preset still gives 0, not an empty result.
    expect(clean.observation.metrics.error_rate).toBe(0);
    expect(clean.observation.errors).toBe(0);
    const served = servedIn(cleanEnd, INTERVAL_SECONDS);
    expect(Number.isInteger(clean.observation.requests)).toBe(true);
    expect(clean.observation.requests).toBeGreaterThan(served * 0.85);
    expect(clean.observation.requests).toBeLessThan(served * 1.15);
    expect(clean.missing).toEqual({});

    const failing = await queryPrometheusSample(options(promClient()), {
      time: failingEnd,
      intervalSeconds: INTERVAL_SECONDS,
    });
    if (!failing.ok) throw new Error(failing.reason);
    expect(failing.observation.metrics.error_rate).toBeGreaterThan(0.2);
    expect(failing.observation.metrics.error_rate).toBeLessThan(0.3);
    const servedErrors = servedIn(failingEnd, INTERVAL_SECONDS, 500);
    expect(failing.observation.errors).toBeGreaterThan(servedErrors * 0.8);
    expect(failing.observation.errors).toBeLessThan(servedErrors * 1.2);
  });

  it("reads the same traffic with the micrometer preset, without the scrapes, and the JVM's CPU and heap", async () => {
    const outcome = await queryPrometheusSample(
      options({ type: "prometheus", url: prometheus.url, preset: "micrometer", selector: 'job="app"' }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    if (!outcome.ok) throw new Error(outcome.reason);
    const { metrics, requests, errors } = outcome.observation;
    expect(metrics.requests_per_sec).toBeGreaterThan(RPS * 0.85);
    expect(metrics.requests_per_sec).toBeLessThan(RPS * 1.15);
    expect(metrics.latency_p95).toBeCloseTo(EXPECTED_P95_MS, 6);
    expect(metrics.error_rate).toBeGreaterThan(0.2);
    expect(metrics.error_rate).toBeLessThan(0.3);
    expect(metrics.cpu_usage).toBe(MICROMETER_PROCESS_CPU);
    expect(metrics.memory_usage).toBeCloseTo(MICROMETER_HEAP_SHARE, 10);
    // Both histograms count the same requests, but only Micrometer's counts the scrapes, under /actuator.
    const promClientView = await queryPrometheusSample(options(promClient()), {
      time: failingEnd,
      intervalSeconds: INTERVAL_SECONDS,
    });
    if (!promClientView.ok) throw new Error(promClientView.reason);
    expect(requests).toBe(promClientView.observation.requests);
    expect(errors).toBe(promClientView.observation.errors);
    expect(metrics.requests_per_sec).toBeCloseTo(promClientView.observation.metrics.requests_per_sec ?? 0, 6);
  });

  it("gives one baseline observation per step over the lookback, oldest first, showing the injected errors", async () => {
    const steps = 3;
    const source = { ...promClient(), queries: { cpu_usage: "vector(0) / vector(0)" } };
    const outcome = await queryPrometheusBaseline(options(source), {
      end: failingEnd,
      lookbackSeconds: steps * INTERVAL_SECONDS,
      stepSeconds: INTERVAL_SECONDS,
    });
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.observations.map((one) => [one.start.getTime(), one.end.getTime()])).toEqual(
      [2, 1, 0].map((k) => [
        failingEnd.getTime() - (k + 1) * INTERVAL_SECONDS * 1000,
        failingEnd.getTime() - k * INTERVAL_SECONDS * 1000,
      ]),
    );
    for (const observation of outcome.observations) {
      const served = servedIn(observation.end, INTERVAL_SECONDS);
      expect(observation.requests).toBeGreaterThan(served * 0.8);
      expect(observation.requests).toBeLessThan(served * 1.2);
      expect(observation.metrics.latency_p95).toBeCloseTo(EXPECTED_P95_MS, 6);
    }
    expect(outcome.observations.map((one) => one.metrics.cpu_usage)).toEqual([null, null, null]);
    expect(outcome.missing).toEqual({
      cpu_usage: "is NaN (often 0/0: no requests in the interval) at 3 of 3 steps",
    });
    const [first, , last] = outcome.observations;
    expect(first?.errors).toBe(0);
    expect(first?.metrics.error_rate).toBe(0);
    expect(last?.metrics.error_rate).toBeGreaterThan(0.2);
    expect(last?.errors).toBeGreaterThan(servedIn(failingEnd, INTERVAL_SECONDS, 500) * 0.8);
  });

  it("records Prometheus' own error for a query it cannot parse, as a permanent failure", async () => {
    const outcome = await queryPrometheusSample(
      options({
        type: "prometheus",
        url: prometheus.url,
        queries: { requests_per_sec: "sum(rate(http_request_duration_seconds_count[{{interval}}])" },
      }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    expect(outcome).toMatchObject({ ok: false, kind: "permanent", httpStatus: 400 });
    if (outcome.ok) return;
    expect(outcome.reason).toMatch(
      /^requests_per_sec: Prometheus refused the query \(bad_data\): .*parse error/,
    );
  });

  it("refuses a query that returns several series, naming the metric and how to aggregate", async () => {
    const outcome = await queryPrometheusSample(
      options({
        type: "prometheus",
        url: prometheus.url,
        queries: { error_rate: 'rate(http_request_duration_seconds_count{job="app"}[{{interval}}])' },
      }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    expect(outcome).toMatchObject({ ok: false, kind: "invalid" });
    if (outcome.ok) return;
    expect(outcome.reason).toMatch(/^error_rate: the query returned 2 series \(\{.*code="(200|500)".*\}\)/);
    expect(outcome.reason).toContain("aggregate them into one with sum(), avg() or max()");
  });

  it("refuses a range selector as an instant query", async () => {
    const outcome = await queryPrometheusSample(
      options({
        type: "prometheus",
        url: prometheus.url,
        queries: { requests: 'sum(http_request_duration_seconds_count{job="app"})[{{interval}}:1s]' },
      }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    expect(outcome).toMatchObject({ ok: false, kind: "invalid" });
    if (!outcome.ok) expect(outcome.reason).toMatch(/^requests: the query gives a range vector/);
  });

  it("fails the slot when every query is empty, and leaves one empty metric missing otherwise", async () => {
    const allEmpty = await queryPrometheusSample(
      options({
        type: "prometheus",
        url: prometheus.url,
        queries: {
          requests_per_sec: "sum(rate(no_such_metric_total[{{interval}}]))",
          custom: { queue_depth: "sum(no_such_queue)" },
        },
      }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    expect(allEmpty).toMatchObject({ ok: false, kind: "invalid", httpStatus: 200 });
    if (!allEmpty.ok) {
      expect(allEmpty.reason).toBe(
        "No query gave a value. requests_per_sec: empty result at the slot time: no series matched; " +
          "if it uses {{interval}} (3s), that range must hold at least two scrapes; " +
          "queue_depth: empty result at the slot time: no series matched",
      );
    }

    const oneEmpty = await queryPrometheusSample(
      options({ ...promClient(), queries: { custom: { queue_depth: "sum(no_such_queue)" } } }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    if (!oneEmpty.ok) throw new Error(oneEmpty.reason);
    expect(oneEmpty.observation.metrics.queue_depth).toBeNull();
    expect(oneEmpty.observation.metrics.requests_per_sec).toBeGreaterThan(0);
    expect(oneEmpty.missing).toEqual({ queue_depth: "empty result at the slot time: no series matched" });
  });

  it("leaves NaN and +Inf values missing with the reason, and keeps the others", async () => {
    const outcome = await queryPrometheusSample(
      options({
        ...promClient(),
        queries: {
          latency_p95: "vector(1) / vector(0)",
          cpu_usage: "vector(0) / vector(0)",
          custom: { build_count: 'count(seqpulse_test_build_info{job="app"})' },
        },
      }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(outcome.observation.metrics).toMatchObject({ latency_p95: null, cpu_usage: null, build_count: 2 });
    expect(outcome.missing).toEqual({
      latency_p95: "is +Inf: the 95th percentile lies above the histogram's largest bucket",
      cpu_usage: "is NaN (often 0/0: no requests in the interval)",
    });
  });

  it("escapes {{branch}} for double- and single-quoted PromQL strings, so a value cannot break out", async () => {
    const source = {
      type: "prometheus",
      url: prometheus.url,
      queries: {
        custom: {
          double_quoted: 'count(seqpulse_test_build_info{branch="{{branch}}"})',
          single_quoted: "count(seqpulse_test_build_info{branch='{{ branch }}'})",
        },
      },
    };
    const tricky = await queryPrometheusSample(
      options(source, { deployment: { env: "production", commitSha: null, branch: TRICKY_BRANCH } }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    if (!tricky.ok) throw new Error(tricky.reason);
    expect(tricky.observation.metrics).toEqual({ double_quoted: 1, single_quoted: 1 });

    const injection = await queryPrometheusSample(
      options(source, { deployment: { env: "production", commitSha: null, branch: INJECTION_BRANCH } }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    expect(injection).toMatchObject({ ok: false, kind: "invalid" });
    if (!injection.ok)
      expect(injection.reason).toMatch(/^No query gave a value\. double_quoted: empty result/);

    const noBranch = await queryPrometheusSample(
      options(source, { deployment: { env: "production", commitSha: null, branch: null } }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    expect(noBranch).toMatchObject({ ok: false, kind: "invalid", httpStatus: null });
    if (!noBranch.ok)
      expect(noBranch.reason).toContain("the query uses {{branch}} but the deployment has no branch");
  });

  it("sends the source's headers, and a rejected token is a permanent failure that does not quote it", async () => {
    const behindProxy = { ...promClient(), url: proxyUrl };
    const accepted = await queryPrometheusSample(
      options({ ...behindProxy, headers: { Authorization: `Bearer ${TOKEN}` } }),
      { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
    );
    expect(accepted).toMatchObject({ ok: true });

    const wrongToken = `${TOKEN}-revoked`;
    const rejected = await queryPrometheusBaseline(
      options({ ...behindProxy, headers: { Authorization: `Bearer ${wrongToken}` } }),
      { end: failingEnd, lookbackSeconds: 6, stepSeconds: INTERVAL_SECONDS },
    );
    expect(rejected).toEqual({
      ok: false,
      kind: "permanent",
      httpStatus: 401,
      reason:
        "requests_per_sec: Prometheus answered HTTP 401: access denied; check the headers of the metrics source.",
    });
  });

  it("refuses Prometheus on a loopback address unless private endpoints are allowed", async () => {
    const port = new URL(prometheus.url).port;
    for (const url of [prometheus.url, `http://localhost:${port}`]) {
      const outcome = await queryPrometheusSample(
        options({ ...promClient(), url }, { allowPrivate: false }),
        { time: failingEnd, intervalSeconds: INTERVAL_SECONDS },
      );
      expect(outcome).toMatchObject({ ok: false, kind: "permanent", httpStatus: null });
      if (!outcome.ok) {
        expect(outcome.reason).toMatch(
          /^requests_per_sec: Refused to connect: .*(127\.0\.0\.1|::1).* Set SEQPULSE_ALLOW_PRIVATE_ENDPOINTS=true/,
        );
      }
    }
  });
});
