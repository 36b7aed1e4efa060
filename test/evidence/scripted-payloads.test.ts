import type { CreateProjectRequest, DeploymentDetail } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fault,
  jsonBody,
  type MetricsApp,
  type Step,
  startMetricsApp,
  values,
} from "../support/metrics-app.js";
import { finish, invariantViolations, tail, trigger, waitForAnalyzed, waitUntil } from "../worker/helpers.js";
import { type EvidenceWorld, evidenceViolations, historyRows, startEvidenceWorld } from "./world.js";

/**
 * Contract v2 payloads scripted to the byte, read by a real SeqPulse server process from trigger to
 * verdict: counts from counters (and their resets), history buckets as the baseline (with gaps and
 * clock skew), repeated baseline samples, and every kind of bad payload as a recorded reason.
 */
const MINUTE = 60_000;

let world: EvidenceWorld;
let app: MetricsApp;
let paths = 0;

beforeAll(async () => {
  [world, app] = await Promise.all([startEvidenceWorld(), startMetricsApp()]);
});
afterAll(async () => {
  await world?.close();
  await app?.close();
});

/** A project on a path of its own, which answers `steps` (the last one repeats). */
async function scripted(steps: Step[], settings: Partial<CreateProjectRequest> = {}) {
  const path = `/metrics-${++paths}`;
  app.script(path, steps);
  const project = await world.project({ metrics_endpoint: app.url(path), ...settings });
  return { project, path };
}

const v2 = (requestsTotal: number, errorsTotal: number, extra: Record<string, unknown> = {}) =>
  jsonBody({
    metrics: { latency_p95: 48, cpu_usage: 0.3, queue_depth: 12 },
    counters: { requests_total: requestsTotal, errors_total: errorsTotal },
    ...extra,
  });

const iso = (ms: number) => new Date(ms).toISOString();

/** A closed bucket from `startMs` to `endMs` with these counts. */
const bucket = (startMs: number, endMs: number, requests: number, errors: number) => ({
  start: iso(startMs),
  end: iso(endMs),
  requests,
  errors,
  metrics: { latency_p95: 45, cpu_usage: 0.28, queue_depth: 3 },
});

const postSamples = (detail: DeploymentDetail) => detail.samples.filter((sample) => sample.phase === "post");

describe.concurrent("contract v2 from trigger to verdict", () => {
  it("a v1 endpoint still works unchanged: the five metrics, no counts, a verdict", async () => {
    const { project } = await scripted([values({ latency_p95: 51 })]);
    const detail = await world.deploy(project);
    expect(detail.verdict?.verdict).toBe("ok");
    expect(detail.collection_failures).toEqual([]);
    expect(detail.samples.map((sample) => [sample.phase, sample.sequence])).toEqual([
      ["baseline", 0],
      ["post", 1],
      ["post", 2],
      ["post", 3],
    ]);
    for (const sample of detail.samples) {
      expect(sample).toMatchObject({ requests: null, errors: null, period_start: null });
      expect(sample.metrics).toEqual({
        requests_per_sec: 120,
        latency_p95: 51,
        error_rate: 0.001,
        cpu_usage: 0.35,
        memory_usage: 0.5,
      });
    }
    const [baseline] = detail.samples;
    expect(detail.baseline_observations).toEqual([
      {
        source: "sample",
        start: baseline?.collected_at,
        end: baseline?.collected_at,
        requests: null,
        errors: null,
        metrics: baseline?.metrics,
      },
    ]);
  });

  it("turns counters into per-sample counts, and reads a decrease as a restart", async () => {
    // Trigger, then three post samples; the process restarts between the first and the second.
    const { project } = await scripted([v2(1000, 10), v2(1100, 12), v2(40, 1), v2(70, 1)]);
    const detail = await world.deploy(project);
    expect(detail.state).toBe("analyzed");
    expect(detail.collection_failures).toEqual([]);
    const [baseline] = detail.samples;
    expect(baseline).toMatchObject({ phase: "baseline", sequence: 0, requests: null, errors: null });
    const post = postSamples(detail);
    expect(post.map((sample) => [sample.requests, sample.errors])).toEqual([
      [100, 2],
      [40, 1],
      [30, 0],
    ]);
    // Each count covers the span since the previous sample.
    expect(post.map((sample) => sample.period_start)).toEqual(
      [baseline, ...post].slice(0, 3).map((sample) => sample?.collected_at),
    );
    // Not measured is not zero: the three metrics the payload left out stay null; custom ones are kept.
    expect(post[0]?.metrics).toEqual({
      latency_p95: 48,
      cpu_usage: 0.3,
      queue_depth: 12,
      requests_per_sec: null,
      error_rate: null,
      memory_usage: null,
    });
  });

  it("takes the history buckets before the trigger as the baseline, leaving missing minutes out", async () => {
    const now = Math.floor(Date.now() / MINUTE) * MINUTE;
    const minute = (k: number) => now + k * MINUTE;
    // Minutes −4 and −1 have no bucket: the app was down, or its buckets were lost.
    const history = [
      bucket(minute(-6), minute(-5), 2400, 3),
      bucket(minute(-5), minute(-4), 2500, 2),
      bucket(minute(-3), minute(-2), 2300, 4),
      bucket(minute(-2), minute(-1), 2450, 1),
    ];
    // The SDK sends its history every time; only the trigger's is read.
    const later = [bucket(minute(-1), minute(0), 999, 999)];
    const { project } = await scripted([
      v2(500, 5, { history }),
      v2(600, 5, { history: [...history, ...later] }),
      v2(700, 5, { history: [...history, ...later] }),
    ]);
    const detail = await world.deploy(project);
    expect(detail.state).toBe("analyzed");
    const observations = detail.baseline_observations;
    expect(observations.filter((one) => one.source === "history")).toEqual(
      history.map((one) => ({
        source: "history",
        start: one.start,
        end: one.end,
        requests: one.requests,
        errors: one.errors,
        metrics: {
          latency_p95: 45,
          cpu_usage: 0.28,
          queue_depth: 3,
          requests_per_sec: null,
          error_rate: null,
          memory_usage: null,
        },
      })),
    );
    // And the trigger's own sample, which checks that the endpoint answers.
    expect(observations.filter((one) => one.source === "sample")).toHaveLength(1);
    expect((await historyRows(world.database, detail.id)).map((row) => row.sequence)).toEqual([
      -4, -3, -2, -1,
    ]);
  });

  it("ignores buckets that end after the trigger (an app clock ahead) and those older than the lookback", async () => {
    const now = Date.now();
    const history = [
      bucket(now - 20 * MINUTE, now - 19 * MINUTE, 1000, 1), // older than the 10-minute lookback
      bucket(now - 3 * MINUTE, now - 2 * MINUTE, 2000, 2),
      bucket(now - 2 * MINUTE, now - MINUTE, 2100, 3),
      bucket(now - 30_000, now + 30_000, 2200, 4), // still open at the trigger
      bucket(now + 4 * MINUTE, now + 5 * MINUTE, 2300, 5), // wholly in the future
    ];
    const { project } = await scripted([v2(500, 5, { history }), v2(600, 5)], {
      baseline_lookback_seconds: 600,
    });
    const detail = await world.deploy(project);
    expect(detail.state).toBe("analyzed");
    expect(
      detail.baseline_observations
        .filter((one) => one.source === "history")
        .map((one) => [one.start, one.end, one.requests]),
    ).toEqual([
      [iso(now - 3 * MINUTE), iso(now - 2 * MINUTE), 2000],
      [iso(now - 2 * MINUTE), iso(now - MINUTE), 2100],
    ]);
    expect(detail.collection_failures).toEqual([]);
  });

  it("samples the baseline again every baseline interval while the deploy runs, up to baseline_samples", async () => {
    const { project, path } = await scripted([v2(100, 1), v2(150, 1), v2(210, 2), v2(300, 3)], {
      baseline_interval_seconds: 1,
      baseline_samples: 3,
    });
    const { deployment_id: id } = await trigger(world.apiUrl, project.api_key);
    await app.waitForRequests(path, 3, 10_000);
    // The deploy goes on past the time a fourth baseline sample would be due.
    await new Promise((done) => setTimeout(done, 1500));
    await finish(world.apiUrl, project.api_key, id);
    const detail = await waitForAnalyzed(world.apiUrl, project.api_key, id, { server: world.server });
    const baseline = detail.samples.filter((sample) => sample.phase === "baseline");
    expect(baseline.map((sample) => [sample.sequence, sample.requests, sample.errors])).toEqual([
      [0, null, null],
      [1, 50, 0],
      [2, 60, 1],
    ]);
    // One second apart, on the schedule (fetched_at is when the endpoint answered).
    const slots = baseline.map((sample) => Date.parse(sample.collected_at));
    expect(slots.map((slot) => slot - (slots[0] ?? 0))).toEqual([0, 1000, 2000]);
    expect(detail.baseline_observations.map((one) => one.source)).toEqual(["sample", "sample", "sample"]);
    expect(postSamples(detail)[0]).toMatchObject({ requests: 90, errors: 1 });
  });

  it("with history, samples the baseline only at the trigger", async () => {
    const now = Date.now();
    const history = [bucket(now - 2 * MINUTE, now - MINUTE, 2000, 2)];
    const { project, path } = await scripted([v2(100, 1, { history })], {
      baseline_interval_seconds: 1,
      baseline_samples: 3,
    });
    const { deployment_id: id } = await trigger(world.apiUrl, project.api_key);
    await app.waitForRequests(path, 1, 10_000);
    // Long enough for two more baseline samples, had the baseline no history.
    await new Promise((done) => setTimeout(done, 2500));
    expect(app.requestsTo(path)).toHaveLength(1);
    await finish(world.apiUrl, project.api_key, id);
    const detail = await waitForAnalyzed(world.apiUrl, project.api_key, id, { server: world.server });
    expect(detail.samples.filter((sample) => sample.phase === "baseline").map((s) => s.sequence)).toEqual([
      0,
    ]);
    expect(detail.baseline_observations.map((one) => one.source)).toEqual(["history", "sample"]);
  });
});

const now = Date.now();
const BAD_PAYLOADS: [string, Step, RegExp][] = [
  [
    "a custom metric with a bad name",
    jsonBody({ metrics: { cpu_usage: 0.3, "Queue-Depth": 4 } }),
    /^Invalid metrics payload: metrics\.Queue-Depth: custom metric names must match \^\[a-z\]\[a-z0-9_\]\{0,63\}\$\.$/,
  ],
  [
    "a fractional counter",
    jsonBody({ metrics: { cpu_usage: 0.3 }, counters: { requests_total: 10.5, errors_total: 0 } }),
    /^Invalid metrics payload: counters\.requests_total: requests_total must be a non-negative integer \(got 10\.5\)\.$/,
  ],
  [
    "more errors than requests",
    jsonBody({ metrics: { cpu_usage: 0.3 }, counters: { requests_total: 10, errors_total: 11 } }),
    /^Invalid metrics payload: counters: errors_total must not exceed requests_total\.$/,
  ],
  [
    "a bucket that ends when it starts",
    jsonBody({ metrics: { cpu_usage: 0.3 }, history: [bucket(now - MINUTE, now - MINUTE, 10, 0)] }),
    /^Invalid metrics payload: history\[0\]\.end: end must be after start\.$/,
  ],
  [
    "121 buckets",
    jsonBody({
      metrics: { cpu_usage: 0.3 },
      history: Array.from({ length: 121 }, (_, k) =>
        bucket(now - (122 - k) * MINUTE, now - (121 - k) * MINUTE, 10, 0),
      ),
    }),
    /^Invalid metrics payload: history: history holds at most 120 buckets\.$/,
  ],
  [
    "a body over 64 KiB",
    jsonBody({ metrics: { cpu_usage: 0.3 }, note: "x".repeat(64 * 1024) }),
    /^Response body is too large \(over 65536 bytes\)\.$/,
  ],
  ["a body over 64 KiB without Content-Length", fault("oversized"), /^Response body is too large/],
  ["NaN, which is not JSON", fault("nan"), /^Response body is not valid JSON\.$/],
  [
    "a fraction above 1",
    fault("out_of_range"),
    /^Invalid metrics payload: metrics\.error_rate: error_rate must be between 0 and 1 \(got 1\.5\)\.$/,
  ],
  [
    "neither a metric nor the counters",
    jsonBody({ metrics: {} }),
    /^Invalid metrics payload: metrics: at least one metric or the counters must be present\.$/,
  ],
];

describe.concurrent("bad payloads", () => {
  it.each(BAD_PAYLOADS)(
    "%s: every slot records an invalid failure with the reason",
    async (_case, step, reason) => {
      const { project } = await scripted([step]);
      const detail = await world.deploy(project);
      expect(detail.state, tail(world.server)).toBe("analyzed");
      expect(detail.samples).toEqual([]);
      expect(detail.baseline_observations).toEqual([]);
      expect(detail.collection_failures.map((failure) => [failure.phase, failure.sequence])).toEqual([
        ["baseline", 0],
        ["post", 1],
        ["post", 2],
        ["post", 3],
      ]);
      for (const failure of detail.collection_failures) {
        expect(failure).toMatchObject({ kind: "invalid", http_status: 200 });
        expect(failure.reason).toMatch(reason);
      }
      expect(detail.verdict?.verdict).not.toBe("ok");
    },
  );
});

describe("afterwards", () => {
  it("the server is still up, logged no crash, and the stored evidence holds every invariant", async () => {
    await waitUntil("a healthy server", async () => (await fetch(`${world.apiUrl}/healthz`)).ok);
    expect(world.server.child.exitCode).toBeNull();
    expect(world.server.output()).not.toMatch(/unhandled|uncaught|"status":500/i);
    expect(await invariantViolations(world.database.pool)).toEqual([]);
    expect(await evidenceViolations(world.database)).toEqual([]);
  });
});
