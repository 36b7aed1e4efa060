import type http from "node:http";
import { PrometheusMetricsSource } from "@seqpulse/types";
import { afterEach, describe, expect, it } from "vitest";
import { parseSampleValue } from "./prometheus/api.js";
import {
  escapePromqlString,
  presetQueries,
  promqlDuration,
  renderQuery,
  resolveQueries,
} from "./prometheus/queries.js";
import { type PrometheusReadOptions, queryPrometheusBaseline, queryPrometheusSample } from "./prometheus.js";
import { closedPort, jsonHandler, startTestServer, type TestServer } from "./test-support/servers.js";

/*
 * The answers of a real Prometheus are tested in test/prometheus/. Here: templating, preset
 * resolution, and what stands between SeqPulse and Prometheus (proxies, wrong URLs, timeouts).
 */

const TOKEN = "Bearer glc_s3cr3t_token_value";
const SLOT = { time: new Date("2026-12-01T12:00:00.250Z"), intervalSeconds: 60 };

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: http.RequestListener): Promise<TestServer> {
  const server = await startTestServer(handler);
  servers.push(server);
  return server;
}

function readOptions(source: unknown, overrides: Partial<PrometheusReadOptions> = {}): PrometheusReadOptions {
  return {
    source: PrometheusMetricsSource.parse(source),
    deployment: { env: "production", commitSha: "abc1234", branch: "main" },
    timeoutMs: 2000,
    maxBodyBytes: 64 * 1024,
    allowPrivate: true,
    userAgent: "SeqPulse-Test/1.0",
    ...overrides,
  };
}

const vector = (value: string) => ({
  status: "success",
  data: { resultType: "vector", result: [{ metric: {}, value: [SLOT.time.getTime() / 1000, value] }] },
});

describe("PromQL templating", () => {
  it("escapes quotes, backslashes and control characters so the value stays inside any quoted literal", () => {
    expect(escapePromqlString(`a"b'c\\d\ne\rf\tg\u0000h\u0085i`)).toBe(
      "a\\x22b\\x27c\\\\d\\ne\\rf\\tg\\x00h\\u0085i",
    );
    expect(escapePromqlString("feature/ünïcode-ok")).toBe("feature/ünïcode-ok");
  });

  it("writes the interval as a PromQL duration", () => {
    expect(promqlDuration(60)).toBe("60s");
    expect(promqlDuration(1.5)).toBe("1500ms");
  });

  it("fills every variable from the deployment, spaces inside the braces allowed", () => {
    const rendered = renderQuery(
      'sum(rate(x{env="{{env}}", sha="{{ commit_sha }}", branch="{{branch}}"}[{{interval}}]))',
      { env: "prod", commitSha: "abc1234", branch: 'fix "quotes"', intervalSeconds: 30 },
    );
    expect(rendered).toEqual({
      ok: true,
      promql: 'sum(rate(x{env="prod", sha="abc1234", branch="fix \\x22quotes\\x22"}[30s]))',
    });
  });

  it("does not run a query naming a value the deployment lacks", () => {
    expect(
      renderQuery('up{sha="{{commit_sha}}"}', {
        env: "prod",
        commitSha: null,
        branch: null,
        intervalSeconds: 60,
      }),
    ).toEqual({ ok: false, reason: "the query uses {{commit_sha}} but the deployment has no commit_sha" });
  });
});

describe("preset resolution", () => {
  it("adds the selector to every selector of the prom-client preset and covers code and status_code", () => {
    const queries = presetQueries("prom-client", 'job="api"');
    expect(Object.keys(queries)).toEqual([
      "requests_per_sec",
      "latency_p95",
      "error_rate",
      "requests",
      "errors",
    ]);
    for (const promql of Object.values(queries)) {
      for (const selector of promql?.match(/\{[^}]*\}/g) ?? []) {
        if (selector !== "{{interval}") expect(selector).toContain('job="api"');
      }
    }
    expect(queries.errors).toBe(
      'sum(increase(http_request_duration_seconds_count{code=~"5..", job="api"}[{{interval}}])) or ' +
        'sum(increase(http_request_duration_seconds_count{status_code=~"5..", job="api"}[{{interval}}])) or ' +
        '0 * sum(increase(http_request_duration_seconds_count{job="api"}[{{interval}}]))',
    );
  });

  it("gives Micrometer's CPU and heap queries and leaves the actuator out of the traffic", () => {
    const queries = presetQueries("micrometer");
    expect(queries.cpu_usage).toBe("avg(process_cpu_usage{})");
    expect(queries.memory_usage).toBe(
      'sum(jvm_memory_used_bytes{area="heap"}) / sum(jvm_memory_max_bytes{area="heap"} > 0)',
    );
    expect(queries.requests_per_sec).toBe(
      'sum(rate(http_server_requests_seconds_count{uri!~"/actuator/.*"}[{{interval}}]))',
    );
  });

  it("overrides preset queries one by one, drops those set to null, and appends custom ones", () => {
    const source = PrometheusMetricsSource.parse({
      type: "prometheus",
      url: "https://prometheus.example.com",
      preset: "prom-client",
      queries: { latency_p95: "my_p95_seconds", errors: null, custom: { queue_depth: "sum(queue_depth)" } },
    });
    expect(resolveQueries(source).map(({ name, role, promql }) => [name, role, promql.slice(0, 24)])).toEqual(
      [
        ["requests_per_sec", "metric", "sum(rate(http_request_du"],
        ["latency_p95", "metric", "my_p95_seconds"],
        ["error_rate", "metric", "(sum(rate(http_request_d"],
        ["requests", "count", "sum(increase(http_reques"],
        ["queue_depth", "custom", "sum(queue_depth)"],
      ],
    );
  });

  it("answers with a failure, not a query, when every preset query is dropped", async () => {
    const outcome = await queryPrometheusSample(
      readOptions({
        type: "prometheus",
        url: "http://127.0.0.1:9",
        preset: "prom-client",
        queries: {
          requests_per_sec: null,
          latency_p95: null,
          error_rate: null,
          requests: null,
          errors: null,
        },
      }),
      SLOT,
    );
    expect(outcome).toMatchObject({
      ok: false,
      kind: "permanent",
      reason: expect.stringContaining("runs no query"),
    });
  });
});

describe("parseSampleValue", () => {
  it("reads Prometheus' number strings, NaN and infinities, and nothing else", () => {
    expect(parseSampleValue("0.25")).toBe(0.25);
    expect(parseSampleValue("1e-3")).toBe(0.001);
    expect(parseSampleValue("NaN")).toBeNaN();
    expect(parseSampleValue("+Inf")).toBe(Number.POSITIVE_INFINITY);
    expect(parseSampleValue("-Inf")).toBe(Number.NEGATIVE_INFINITY);
    for (const bad of ["", "0x10", "1,5", "12abc", 3]) expect(parseSampleValue(bad)).toBeUndefined();
  });
});

describe("the HTTP exchange with Prometheus", () => {
  it("sends instant queries at the slot time to the base URL's /api/v1/query, with the source's headers", async () => {
    const server = await serve(jsonHandler(200, vector("0.182")));
    const outcome = await queryPrometheusSample(
      readOptions({
        type: "prometheus",
        url: `${server.origin}/prometheus/`,
        queries: { latency_p95: "p95_seconds" },
        headers: { Authorization: TOKEN, "X-Scope-OrgID": "team-a", "user-agent": "Custom/2" },
      }),
      SLOT,
    );
    expect(outcome).toMatchObject({ ok: true, observation: { metrics: { latency_p95: 182 } } });
    const [request] = server.requests;
    const url = new URL(request?.url ?? "", server.origin);
    expect(url.pathname).toBe("/prometheus/api/v1/query");
    expect(Object.fromEntries(url.searchParams)).toEqual({ query: "p95_seconds", time: "1796126400.250" });
    expect(request?.headers).toMatchObject({
      authorization: TOKEN,
      "x-scope-orgid": "team-a",
      "user-agent": "Custom/2",
      accept: "application/json",
    });
    expect(request?.rawHeaders.filter((name) => name.toLowerCase() === "user-agent")).toHaveLength(1);
  });

  it("sends range queries whose steps end at the trigger and tile the lookback", async () => {
    const server = await serve((req, res) => {
      const params = new URL(req.url ?? "", "http://x").searchParams;
      const start = Number(params.get("start"));
      const values = [0, 1, 2].map((k) => [start + k * 60, String(10 + k)]);
      jsonHandler(200, {
        status: "success",
        data: { resultType: "matrix", result: [{ metric: {}, values }] },
      })(req, res);
    });
    const end = new Date("2026-12-01T12:00:00Z");
    const outcome = await queryPrometheusBaseline(
      readOptions({
        type: "prometheus",
        url: server.origin,
        queries: { requests: "sum(increase(x[{{interval}}]))" },
      }),
      { end, lookbackSeconds: 180, stepSeconds: 60 },
    );
    const params = Object.fromEntries(new URL(server.requests[0]?.url ?? "", server.origin).searchParams);
    expect(params).toEqual({
      query: "sum(increase(x[60s]))",
      start: "1796126280.000",
      end: "1796126400.000",
      step: "60",
    });
    if (!outcome.ok) throw new Error(outcome.reason);
    expect(
      outcome.observations.map(({ start, end, requests }) => [
        start.toISOString(),
        end.toISOString(),
        requests,
      ]),
    ).toEqual([
      ["2026-12-01T11:57:00.000Z", "2026-12-01T11:58:00.000Z", 10],
      ["2026-12-01T11:58:00.000Z", "2026-12-01T11:59:00.000Z", 11],
      ["2026-12-01T11:59:00.000Z", "2026-12-01T12:00:00.000Z", 12],
    ]);
  });

  it("refuses a lookback shorter than one step or longer than Prometheus answers", async () => {
    const source = { type: "prometheus", url: "http://127.0.0.1:9", queries: { requests: "x" } };
    const end = new Date();
    expect(
      await queryPrometheusBaseline(readOptions(source), { end, lookbackSeconds: 30, stepSeconds: 60 }),
    ).toMatchObject({
      ok: false,
      kind: "permanent",
      reason: "The baseline lookback is shorter than one step.",
    });
    expect(
      await queryPrometheusBaseline(readOptions(source), { end, lookbackSeconds: 86_400, stepSeconds: 1 }),
    ).toMatchObject({ ok: false, kind: "permanent", reason: expect.stringContaining("at most 11000") });
  });

  const failures: [string, http.RequestListener, object][] = [
    [
      "Prometheus overloaded (503 with its JSON error) is transient and quotes Prometheus",
      jsonHandler(503, { status: "error", errorType: "unavailable", error: "too many concurrent queries" }),
      {
        kind: "transient",
        httpStatus: 503,
        reason:
          "requests_per_sec: Prometheus could not run the query (unavailable): too many concurrent queries",
      },
    ],
    [
      "an execution error (422) is permanent",
      jsonHandler(422, {
        status: "error",
        errorType: "execution",
        error: "many-to-many matching not allowed",
      }),
      {
        kind: "permanent",
        httpStatus: 422,
        reason:
          "requests_per_sec: Prometheus refused the query (execution): many-to-many matching not allowed",
      },
    ],
    [
      "a load balancer's 502 page is transient",
      (_req, res) => res.writeHead(502, { "Content-Type": "text/html" }).end("<html>Bad Gateway</html>"),
      { kind: "transient", httpStatus: 502, reason: "requests_per_sec: Prometheus answered HTTP 502." },
    ],
    [
      "a 404 says the URL must be the base URL",
      (_req, res) => res.writeHead(404).end("404 page not found"),
      {
        kind: "permanent",
        httpStatus: 404,
        reason:
          "requests_per_sec: Prometheus answered HTTP 404; the URL must be Prometheus' base URL, without /api/v1.",
      },
    ],
    [
      "a redirect is not followed",
      (_req, res) => res.writeHead(302, { Location: "http://169.254.169.254/latest/meta-data/" }).end(),
      {
        kind: "permanent",
        httpStatus: 302,
        reason: "requests_per_sec: Prometheus answered HTTP 302; redirects are not followed.",
      },
    ],
    [
      "a 200 that is not JSON is invalid",
      (_req, res) => res.writeHead(200, { "Content-Type": "text/html" }).end("<html>login</html>"),
      { kind: "invalid", httpStatus: 200, reason: "requests_per_sec: Prometheus' answer is not valid JSON." },
    ],
    [
      "a 200 of another shape is invalid",
      jsonHandler(200, { status: "success", data: { resultType: "vector", result: [{ value: [1, 2] }] } }),
      {
        kind: "invalid",
        httpStatus: 200,
        reason: "requests_per_sec: Prometheus' answer is not a query result it documents.",
      },
    ],
    [
      "an answer over the size cap is invalid",
      (_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ ...vector("1"), padding: "x".repeat(70 * 1024) }));
      },
      {
        kind: "invalid",
        httpStatus: 200,
        reason: "requests_per_sec: Response body is too large (over 65536 bytes).",
      },
    ],
  ];
  it.each(failures)("%s", async (_title, handler, expected) => {
    const server = await serve(handler);
    const outcome = await queryPrometheusSample(
      readOptions({
        type: "prometheus",
        url: server.origin,
        queries: { requests_per_sec: "sum(rate(x[1m]))" },
      }),
      SLOT,
    );
    expect(outcome).toEqual({ ok: false, ...expected });
    expect(server.requests).toHaveLength(1);
  });

  it("gives up on a Prometheus that does not answer in time, and one that is down, as transient", async () => {
    const silent = await serve(() => {});
    const source = (url: string) => ({ type: "prometheus", url, queries: { requests_per_sec: "x" } });
    expect(await queryPrometheusSample(readOptions(source(silent.origin), { timeoutMs: 200 }), SLOT)).toEqual(
      {
        ok: false,
        kind: "transient",
        httpStatus: null,
        reason: "requests_per_sec: Prometheus did not answer within 200 ms.",
      },
    );
    const down = `http://127.0.0.1:${await closedPort()}`;
    expect(await queryPrometheusSample(readOptions(source(down)), SLOT)).toMatchObject({
      ok: false,
      kind: "transient",
      reason: "requests_per_sec: Could not reach Prometheus (ECONNREFUSED).",
    });
  });

  it("reports a failure that needs a fix before one that may pass by itself", async () => {
    const server = await serve((req, res) => {
      const query = new URL(req.url ?? "", "http://x").searchParams.get("query");
      if (query === "broken(") {
        jsonHandler(400, { status: "error", errorType: "bad_data", error: "unexpected end of input" })(
          req,
          res,
        );
      } else jsonHandler(503, { status: "error", errorType: "timeout", error: "query timed out" })(req, res);
    });
    const outcome = await queryPrometheusSample(
      readOptions({
        type: "prometheus",
        url: server.origin,
        queries: { requests_per_sec: "slow_query", error_rate: "broken(" },
      }),
      SLOT,
    );
    expect(outcome).toMatchObject({
      ok: false,
      kind: "permanent",
      reason: "error_rate: Prometheus refused the query (bad_data): unexpected end of input",
    });
  });
});

describe("secret headers", () => {
  it("never puts a header value into a failure reason, even when a proxy echoes it", async () => {
    const server = await serve((req, res) =>
      jsonHandler(400, {
        status: "error",
        errorType: "bad_data",
        error: `token ${req.headers.authorization} is odd`,
      })(req, res),
    );
    const outcome = await queryPrometheusSample(
      readOptions({
        type: "prometheus",
        url: server.origin,
        queries: { requests_per_sec: "x" },
        headers: { Authorization: TOKEN },
      }),
      SLOT,
    );
    expect(outcome).toMatchObject({ ok: false, kind: "permanent" });
    if (outcome.ok) return;
    expect(outcome.reason).toBe(
      "requests_per_sec: Prometheus refused the query (bad_data): token [redacted] is odd",
    );
    expect(outcome.reason).not.toContain("s3cr3t");
  });

  it("is refused with a 401 as access denied, without the token", async () => {
    const server = await serve(jsonHandler(401, { status: "error", error: `invalid token ${TOKEN}` }));
    const outcome = await queryPrometheusSample(
      readOptions({
        type: "prometheus",
        url: server.origin,
        queries: { requests_per_sec: "x" },
        headers: { Authorization: TOKEN },
      }),
      SLOT,
    );
    expect(outcome).toEqual({
      ok: false,
      kind: "permanent",
      httpStatus: 401,
      reason:
        "requests_per_sec: Prometheus answered HTTP 401: access denied; check the headers of the metrics source.",
    });
  });
});

describe("the SSRF guard", () => {
  it("refuses private and loopback Prometheus addresses without sending anything", async () => {
    const server = await serve(jsonHandler(200, vector("1")));
    for (const url of [server.origin, "http://10.1.2.3:9090", "http://[::ffff:127.0.0.1]:9090"]) {
      const outcome = await queryPrometheusSample(
        readOptions({ type: "prometheus", url, queries: { requests_per_sec: "x" } }, { allowPrivate: false }),
        SLOT,
      );
      expect(outcome).toMatchObject({
        ok: false,
        kind: "permanent",
        httpStatus: null,
        reason: expect.stringMatching(/^requests_per_sec: Refused to connect: .*private or reserved address/),
      });
    }
    expect(server.requests).toHaveLength(0);
  });
});
