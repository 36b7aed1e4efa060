import type { CollectionFailure, DeploymentDetail, VerdictReason } from "@seqpulse/types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import {
  fault,
  HEALTHY,
  jsonBody,
  type MetricsApp,
  type Step,
  startMetricsApp,
  status,
  values,
} from "../support/metrics-app.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import {
  apiUrlOf,
  createProject,
  finish,
  invariantViolations,
  runDeployment,
  SERVER_VERSION,
  serverEnv,
  sleep,
  slotsOf,
  trigger,
  waitForAnalyzed,
} from "./helpers.js";

/**
 * Trigger → baseline → finish → post samples → verdict against a real server process and a real
 * metrics endpoint, with 1-second sample intervals (3 post samples per window).
 */
describe("worker pipeline: trigger to verdict", () => {
  let database: TestDatabase;
  let app: MetricsApp;
  let server: ServerProcess;
  let apiUrl: string;

  beforeAll(async () => {
    [database, app] = await Promise.all([createTestDatabase(), startMetricsApp()]);
    server = await startServerProcess(
      serverEnv(database.url, {
        SEQPULSE_METRICS_TIMEOUT_MS: "300",
        // Scenarios run side by side; some hold a worker while their endpoint times out.
        SEQPULSE_WORKER_CONCURRENCY: "16",
      }),
    );
    apiUrl = apiUrlOf(server);
  });
  afterAll(async () => {
    await server?.stop();
    await app?.close();
    await database?.close();
  });

  /** A project whose endpoint is `path` on the metrics app, scripted with `steps`. */
  async function projectOn(path: string, steps: Step[], extra: { hmac_enabled?: boolean } = {}) {
    const project = await createProject(apiUrl, { metrics_endpoint: app.url(path), ...extra });
    app.script(path, steps);
    return project;
  }

  const postSamples = (detail: DeploymentDetail) => detail.samples.filter((s) => s.phase === "post");
  const failuresOf = (detail: DeploymentDetail, phase: CollectionFailure["phase"]) =>
    detail.collection_failures.filter((f) => f.phase === phase);
  const rulesOf = (detail: DeploymentDetail) => detail.verdict?.reasons.map((r) => r.rule) ?? [];
  const slotTime = (detail: DeploymentDetail, sequence: number) =>
    Date.parse(detail.finished_at ?? "") + sequence * 1000;
  const REASON_KEYS = [
    "metric",
    "rule",
    "baseline",
    "observed",
    "threshold",
    "exceed_ratio",
    "tolerance",
    "severity",
    "message",
    "test",
    "statistic",
    "p_value",
    "needed",
  ];

  describe.concurrent("scenarios", () => {
    it("healthy app: ok verdict from 1 baseline + 3 post samples taken on schedule", async ({ expect }) => {
      const path = "/healthy/metrics";
      const project = await projectOn(path, [values()]);
      const { detail, finishToVerdictMs } = await runDeployment(apiUrl, project, { server });

      expect(detail.state).toBe("analyzed");
      expect(detail.collection_failures).toEqual([]);
      expect(detail.samples.map((s) => [s.phase, s.sequence])).toEqual([
        ["baseline", 0],
        ["post", 1],
        ["post", 2],
        ["post", 3],
      ]);
      for (const sample of detail.samples) expect(sample.metrics).toEqual(HEALTHY);
      // The baseline is stamped at the trigger; post sample k at finish + k × interval.
      expect(detail.samples[0]?.collected_at).toBe(detail.started_at);
      for (const sample of postSamples(detail))
        expect(Date.parse(sample.collected_at)).toBe(slotTime(detail, sample.sequence));

      const verdict = detail.verdict;
      expect(verdict?.verdict).toBe("ok");
      expect(verdict?.reasons).toEqual([]);
      expect(verdict?.confidence).toBeGreaterThan(0);
      // Every attempt gave a valid observation (score 1); engine 2 also says what the evidence lacks:
      // one baseline point, and a v1 payload without counters, so counts come from the rates; and
      // that 360 requests against one baseline point could not have caught errors ×5.
      expect(verdict?.data_quality).toMatchObject({
        score: 1,
        issues: [
          "a single baseline observation: regressions of latency, cpu and memory can only warn",
          "request and error counts estimated from requests_per_sec × interval for 4 of 4 observations",
          expect.stringMatching(
            /^error_rate: 360 post requests could not have caught errors ×5 the baseline's \(0\.50 %\)/,
          ),
        ],
        detection_limits: [
          {
            metric: "error_rate",
            baseline: 0.001,
            guarded: 0.005,
            post_requests: 360,
            needed_post_requests: null,
          },
        ],
      });
      expect(verdict?.summary).toBe(
        "OK: 3 post samples within limits and consistent with the baseline (1 baseline observation). " +
          "This window could not have caught errors ×5: see data quality.",
      );
      expect(Date.parse(verdict?.created_at ?? "")).toBeGreaterThanOrEqual(slotTime(detail, 3));
      expect(finishToVerdictMs).toBeLessThan(10_000);

      // One request per slot, none before its slot, each identifying SeqPulse and unsigned.
      const requests = app.requestsTo(path);
      expect(requests).toHaveLength(4);
      for (const request of requests) {
        expect(request.method).toBe("GET");
        expect(request.headers["user-agent"]).toBe(`SeqPulse/${SERVER_VERSION}`);
        expect(request.headers.accept).toBe("application/json");
        expect(request.headers["x-seqpulse-signature"]).toBeUndefined();
      }
      for (const [index, request] of requests.slice(1).entries())
        expect(request.time).toBeGreaterThanOrEqual(slotTime(detail, index + 1));
    });

    it("error_rate jump after finish: rollback_recommended, the window cut short by fail-fast", async ({
      expect,
    }) => {
      const path = "/errors/metrics";
      const project = await projectOn(path, [values(), values({ error_rate: 0.05 })]);
      const { detail } = await runDeployment(apiUrl, project, { server });

      const verdict = detail.verdict;
      expect(verdict?.verdict).toBe("rollback_recommended");
      const reason = verdict?.reasons.find((r) => r.metric === "error_rate");
      expect(Object.keys(reason ?? {}).sort()).toEqual([...REASON_KEYS].sort());
      // Fail-fast level: limit 1 % × safety 0.9 × fail_fast_factor 2 = 1.8 %.
      expect(reason).toMatchObject({
        metric: "error_rate",
        rule: "fail_fast",
        baseline: 0.001,
        observed: 0.05,
        threshold: 0.018,
        exceed_ratio: 1,
        tolerance: null,
        severity: "critical",
        // The last two post errors, counted from 120 rps × 1 s, tested against the 1.8 % level.
        test: "binomial_limit",
        needed: null,
      } satisfies Omit<VerdictReason, "message" | "statistic" | "p_value">);
      expect(reason?.statistic).toBeGreaterThanOrEqual(12);
      expect(reason?.p_value).toBeLessThan(0.0001);
      expect(reason?.message).toMatch(/\d+ errors in \d+ requests, exact binomial p < 0\.0001/);
      expect(verdict?.summary).toMatch(
        /^Rollback recommended: error_rate was at or above fail-fast threshold/,
      );
      expect(verdict?.summary.endsWith(".")).toBe(true);
      expect(verdict?.confidence).toBeGreaterThan(0);

      // Fail-fast needs two consecutive bad samples; the third slot may or may not have been taken.
      const post = postSamples(detail);
      expect(post.length).toBeGreaterThanOrEqual(2);
      expect(post.length).toBeLessThanOrEqual(3);
      expect(verdict?.data_quality.issues).toContain(
        `request and error counts estimated from requests_per_sec × interval for ${1 + post.length} of ${1 + post.length} observations`,
      );
      if (post.length < 3) {
        expect(verdict?.data_quality.issues).toContain(
          "window cut short by fail-fast after 2 of 3 planned post samples",
        );
      }
      // Once analyzed, the remaining slot is skipped without a request.
      await sleep(Math.max(0, slotTime(detail, 3) + 1500 - Date.now()));
      expect(app.requestsTo(path)).toHaveLength(1 + post.length);
    });

    it("latency 5x slower but under the 300 ms limit: warning with rule regression", async ({ expect }) => {
      // Engine 2 needs a real baseline distribution to call a regression: the endpoint serves contract
      // v2 history at the trigger, 20 closed one-minute buckets at 50 ms, 120 rps and 0.1 % errors.
      const path = "/slow/metrics";
      const now = Date.now();
      const history = Array.from({ length: 20 }, (_, index) => ({
        start: new Date(now - (21 - index) * 60_000).toISOString(),
        end: new Date(now - (20 - index) * 60_000).toISOString(),
        requests: 7200,
        errors: 7,
        metrics: { ...HEALTHY },
      }));
      const project = await projectOn(path, [
        jsonBody({ metrics: HEALTHY, history }),
        values({ latency_p95: 250 }),
      ]);
      const { detail } = await runDeployment(apiUrl, project, { server });

      expect(detail.baseline_observations.filter((o) => o.source === "history")).toHaveLength(20);
      expect(postSamples(detail)).toHaveLength(3);
      expect(detail.verdict?.verdict).toBe("warning");
      expect(detail.verdict?.reasons).toEqual([
        {
          metric: "latency_p95",
          rule: "regression",
          baseline: 50,
          observed: 250,
          // max(50 ms × 1.25, 50 + 50 ms)
          threshold: 100,
          exceed_ratio: 1,
          tolerance: 0.2,
          // latency_p95 is not critical by default: a regression warns, never recommends a rollback.
          severity: "warning",
          message: expect.stringMatching(
            /^latency_p95 rose from baseline 50 ms to 250 ms \(Hodges-Lehmann estimate over 3 post samples against 21 baseline observations; Mann-Whitney p < 0\.\d+\), past the regression threshold 100 ms$/,
          ),
          test: "mann_whitney_u",
          // U = 3 × 21: every post sample above every baseline observation (20 buckets + the trigger's).
          statistic: 63,
          p_value: expect.any(Number),
          needed: null,
        },
      ]);
      expect(detail.verdict?.reasons[0]?.p_value).toBeLessThan(0.005);
      expect(detail.verdict?.summary).toMatch(/^Warning: latency_p95 rose from baseline 50 ms to 250 ms/);
    });

    it("latency 5x slower against a single baseline sample: only a warning, and it says why", async ({
      expect,
    }) => {
      // One baseline point is not a distribution (no rank test can be significant against it), so
      // engine 2 falls back to a conservative rule that can only warn, and names the baseline needed.
      const path = "/slow-single/metrics";
      const project = await projectOn(path, [values({ latency_p95: 50 }), values({ latency_p95: 250 })]);
      const { detail } = await runDeployment(apiUrl, project, { server });

      expect(postSamples(detail)).toHaveLength(3);
      expect(detail.verdict?.verdict).toBe("warning");
      const reasons = detail.verdict?.reasons ?? [];
      expect(reasons).toHaveLength(1);
      expect(reasons[0]).toMatchObject({
        metric: "latency_p95",
        rule: "regression",
        baseline: 50,
        observed: 250,
        threshold: 100,
        exceed_ratio: 1,
        severity: "warning",
        test: null,
        p_value: null,
      });
      expect(reasons[0]?.needed?.baseline_observations).toBeGreaterThan(1);
      expect(reasons[0]?.message).toMatch(
        /^latency_p95 rose from the single baseline observation 50 ms to median 250 ms.*at most a warning/,
      );
      expect(detail.verdict?.data_quality.issues).toContain(
        "a single baseline observation: regressions of latency, cpu and memory can only warn",
      );
    });

    it("three HTTP 500s then healthy: transient failures kept apart from values, no rollback", async ({
      expect,
    }) => {
      const path = "/flaky/metrics";
      const project = await projectOn(path, [values(), status(500), status(500), status(500), values()]);
      const { detail } = await runDeployment(apiUrl, project, { server });

      const answers = app.requestsTo(path).map((r) => r.answer);
      expect(answers.filter((a) => a === "status_500")).toHaveLength(3);
      // A 500 is never stored as a sample: every sample carries the healthy values.
      for (const sample of detail.samples) expect(sample.metrics).toEqual(HEALTHY);
      expect(failuresOf(detail, "baseline")).toEqual([]);
      for (const failure of detail.collection_failures) {
        expect(failure).toMatchObject({ phase: "post", kind: "transient", http_status: 500 });
        expect(failure.reason).toMatch(/^Endpoint answered HTTP 500\. \(gave up after \d+ attempts\)$/);
      }
      // Each post slot is settled exactly once: as a sample or as a failure.
      const settled = [...postSamples(detail), ...failuresOf(detail, "post")].map((s) => s.sequence).sort();
      expect(settled).toEqual([1, 2, 3]);
      // Retried within the slot: more requests than slots unless a slot gave up after one attempt.
      expect(answers.length).toBeGreaterThanOrEqual(5);

      expect(detail.verdict?.verdict).not.toBe("rollback_recommended");
      if (detail.collection_failures.length === 0) expect(detail.verdict?.verdict).toBe("ok");
      else expect(rulesOf(detail)).toContain("insufficient_data");
    });

    const invalidFaults = [
      { name: "invalid_json", kind: "invalid", http: 200, reason: /^Response body is not valid JSON\.$/ },
      { name: "nan", kind: "invalid", http: 200, reason: /^Response body is not valid JSON\.$/ },
      {
        name: "out_of_range",
        kind: "invalid",
        http: 200,
        reason:
          /^Invalid metrics payload: metrics\.error_rate: error_rate must be between 0 and 1 \(got 1\.5\)\.$/,
      },
      {
        name: "oversized",
        kind: "invalid",
        http: 200,
        reason: /^Response body is too large \(over 65536 bytes\)\.$/,
      },
      {
        name: "redirect",
        kind: "permanent",
        http: 302,
        reason: /^Endpoint answered HTTP 302; redirects are not followed\.$/,
      },
    ] as const;

    it.for(invalidFaults)(
      "endpoint always answers $name: $kind failures, insufficient_data warning, no retries",
      async ({ name, kind, http, reason }, { expect }) => {
        const path = `/fault/${name}`;
        const project = await projectOn(path, [fault(name)]);
        const { detail } = await runDeployment(apiUrl, project, { server });

        expect(detail.samples).toEqual([]);
        expect(slotsOf(detail.collection_failures)).toEqual([
          ["baseline", 0],
          ["post", 1],
          ["post", 2],
          ["post", 3],
        ]);
        for (const failure of detail.collection_failures) {
          expect(failure.kind).toBe(kind);
          expect(failure.http_status).toBe(http);
          expect(failure.reason).toMatch(reason);
        }
        const verdict = detail.verdict;
        expect(verdict?.verdict).toBe("warning");
        expect(rulesOf(detail)).toEqual(["insufficient_data", "insufficient_data"]);
        expect(verdict?.reasons.map((r) => r.message)).toEqual([
          expect.stringMatching(/^no valid baseline observations \(0 valid, 1 failed\)/),
          expect.stringMatching(/^only 0 valid post samples \(3 failed\), at least 3 required/),
        ]);
        expect(verdict?.data_quality.issues).toContain(`post: 3 of 3 samples unusable (3 ${kind})`);
        expect(verdict?.confidence).toBe(0);
        expect(verdict?.data_quality.score).toBe(0);

        // Bad answers are not retried: one request per slot, and none after the verdict.
        await sleep(1000);
        const requests = app.requestsTo(path);
        expect(requests, JSON.stringify(requests.map((r) => [r.time, r.answer]))).toHaveLength(4);
        // The redirect target was never requested (and nothing but the app itself was contacted).
        expect(app.requestsTo("/latest/meta-data")).toEqual([]);
        expect(app.requests.every((r) => r.headers.host === `127.0.0.1:${app.port}`)).toBe(true);
      },
    );

    it("endpoint always times out, deploy finishes while the baseline is being retried", async ({
      expect,
    }) => {
      const path = "/fault/timeout";
      const project = await projectOn(path, [fault("timeout")]);
      const { deployment_id: id } = await trigger(apiUrl, project.api_key);
      // The baseline request is in flight and will time out; finish before it can succeed.
      await app.waitForRequests(path, 1);
      await finish(apiUrl, project.api_key, id);
      const detail = await waitForAnalyzed(apiUrl, project.api_key, id, { server });

      expect(detail.samples).toEqual([]);
      const [baselineFailure, ...others] = failuresOf(detail, "baseline");
      expect(others).toEqual([]);
      expect(baselineFailure).toMatchObject({ kind: "transient", http_status: null });
      expect(baselineFailure?.reason).toMatch(/^Endpoint did not answer within 300 ms\./);
      const post = failuresOf(detail, "post");
      // Listed by attempt time; with random backoff a later slot can give up first.
      expect(post.map((f) => f.sequence).sort()).toEqual([1, 2, 3]);
      for (const failure of post) {
        expect(failure.kind).toBe("transient");
        expect(failure.reason).toMatch(
          /^Endpoint did not answer within 300 ms\. \(gave up after \d+ attempts\)$/,
        );
      }
      expect(detail.verdict?.verdict).toBe("warning");
      expect(rulesOf(detail)).toEqual(["insufficient_data", "insufficient_data"]);
      expect(detail.verdict?.reasons[0]?.message).toMatch(
        /^no valid baseline observations \(0 valid, 1 failed\)/,
      );

      // Transient failures are retried within their slot, but boundedly.
      const count = app.requestsTo(path).length;
      expect(count).toBeGreaterThanOrEqual(4);
      expect(count).toBeLessThanOrEqual(30);
      await sleep(1500);
      expect(app.requestsTo(path)).toHaveLength(count);
    });

    it("HMAC: v2-signed requests verified with the project's secret, ok verdict", async ({ expect }) => {
      const path = "/hmac/ok/";
      const project = await createProject(apiUrl, {
        metrics_endpoint: app.url(`${path}?probe=1`),
        hmac_enabled: true,
      });
      expect(project.hmac_enabled).toBe(true);
      app.script(path, [values()], { hmacSecret: project.hmac_secret });
      const { detail } = await runDeployment(apiUrl, project, { server });

      expect(detail.collection_failures).toEqual([]);
      expect(detail.samples).toHaveLength(4);
      expect(detail.verdict?.verdict).toBe("ok");
      const requests = app.requestsTo(path);
      expect(requests.map((r) => r.answer)).toEqual(["values", "values", "values", "values"]);
      for (const { headers, url } of requests) {
        expect(url).toBe("/hmac/ok/?probe=1");
        expect(headers["x-seqpulse-timestamp"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(headers["x-seqpulse-nonce"]).toMatch(/^[0-9a-f]{32}$/);
        expect(headers["x-seqpulse-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
        expect(headers["x-seqpulse-signature-version"]).toBe("v2");
        expect(headers["x-seqpulse-canonical-path"]).toBe("/hmac/ok");
        expect(headers["x-seqpulse-method"]).toBe("GET");
        expect(headers["x-seqpulse-nonce-ttl"]).toBe("330");
        expect(headers["x-seqpulse-project-id"]).toBe(project.project_id);
        expect(headers["user-agent"]).toBe(`SeqPulse/${SERVER_VERSION}`);
      }
      expect(new Set(requests.map((r) => r.headers["x-seqpulse-nonce"])).size).toBe(4);
    });

    it("HMAC with a secret the app does not share: 401, permanent failures, bounded requests", async ({
      expect,
    }) => {
      const path = "/hmac/wrong";
      const project = await createProject(apiUrl, { metrics_endpoint: app.url(path), hmac_enabled: true });
      app.script(path, [values()], { hmacSecret: "a-secret-seqpulse-does-not-know-0123" });
      const { detail } = await runDeployment(apiUrl, project, { server });

      expect(detail.samples).toEqual([]);
      expect(detail.collection_failures).toHaveLength(4);
      for (const failure of detail.collection_failures) {
        expect(failure).toMatchObject({
          kind: "permanent",
          http_status: 401,
          reason: "Endpoint answered HTTP 401: HMAC signature rejected.",
        });
      }
      expect(detail.verdict?.verdict).toBe("warning");
      expect(rulesOf(detail)).toEqual(["insufficient_data", "insufficient_data"]);
      await sleep(1500);
      const requests = app.requestsTo(path);
      expect(requests.map((r) => r.hmacProblem)).toEqual([
        "bad signature",
        "bad signature",
        "bad signature",
        "bad signature",
      ]);
    });
  });

  it("invariants hold over every deployment of the run", async () => {
    const { rows } = await database.pool.query<{ state: string; n: number }>(
      "select state, count(*)::int as n from deployments group by state",
    );
    expect(rows).toEqual([{ state: "analyzed", n: 13 }]);
    expect(await invariantViolations(database.pool)).toEqual([]);
    expect(server.output()).not.toContain('"level":"error"');
  });
});
