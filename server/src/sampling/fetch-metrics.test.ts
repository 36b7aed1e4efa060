import http from "node:http";
import type { Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type FetchMetricsOptions, fetchMetrics, parseMetricsPayload } from "./fetch-metrics.js";
import {
  closedPort,
  hmacVerifyingHandler,
  jsonHandler,
  startTestServer,
  type TestServer,
} from "./test-support/servers.js";

const VALID = {
  metrics: {
    requests_per_sec: 12.5,
    latency_p95: 180,
    error_rate: 0.002,
    cpu_usage: 0.41,
    memory_usage: 0.63,
  },
};
const SECRET = "sp_live_do_not_leak";

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(handler: http.RequestListener): Promise<TestServer> {
  const server = await startTestServer(handler);
  servers.push(server);
  return server;
}

function fetchFrom(url: string, overrides: Partial<FetchMetricsOptions> = {}) {
  return fetchMetrics({
    url,
    timeoutMs: 2000,
    maxBodyBytes: 64 * 1024,
    allowPrivate: true,
    userAgent: "SeqPulse-Test/1.0",
    ...overrides,
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) resolve();
    else socket.once("close", () => resolve());
  });
}

describe("fetchMetrics: success and HMAC", () => {
  it("returns the metrics of a valid body (custom ones included), ignoring extra fields", async () => {
    const server = await serve(
      jsonHandler(200, { metrics: { ...VALID.metrics, gc_pauses: 3 }, extra: true }),
    );
    const outcome = await fetchFrom(`${server.origin}/seqpulse-metrics?x=1`);
    expect(outcome).toEqual({
      ok: true,
      reading: { metrics: { ...VALID.metrics, gc_pauses: 3 }, history: [] },
      httpStatus: 200,
    });
    const [request] = server.requests;
    expect(request?.method).toBe("GET");
    expect(request?.url).toBe("/seqpulse-metrics?x=1");
    expect(request?.headers["user-agent"]).toBe("SeqPulse-Test/1.0");
    expect(request?.headers.accept).toBe("application/json");
    expect(request?.headers["x-seqpulse-signature"]).toBeUndefined();
  });

  it("sends HMAC headers that a verifying app accepts, and a replayed nonce is refused", async () => {
    const server = await serve(hmacVerifyingHandler(SECRET, VALID));
    const url = `${server.origin}/seqpulse-metrics/`;
    const hmac = { secret: SECRET, projectId: "proj-42" };

    expect(await fetchFrom(url, { hmac })).toMatchObject({ ok: true });
    expect(await fetchFrom(url, { hmac })).toMatchObject({ ok: true });

    const [first, second] = server.requests;
    expect(first?.headers).toMatchObject({
      "x-seqpulse-signature-version": "v2",
      "x-seqpulse-canonical-path": "/seqpulse-metrics",
      "x-seqpulse-method": "GET",
      "x-seqpulse-nonce-ttl": "330",
      "x-seqpulse-project-id": "proj-42",
    });
    expect(first?.headers["x-seqpulse-nonce"]).not.toBe(second?.headers["x-seqpulse-nonce"]);
    expect(JSON.stringify(first?.headers)).not.toContain(SECRET);

    const replayStatus = await new Promise<number | undefined>((resolve, reject) => {
      http
        .get(url, { headers: first?.headers, agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode);
        })
        .on("error", reject);
    });
    expect(replayStatus).toBe(401);
  });

  it("classifies a rejected signature as permanent without leaking the secret", async () => {
    const server = await serve(hmacVerifyingHandler(SECRET, VALID));
    const url = `${server.origin}/seqpulse-metrics`;
    const wrongSecret = await fetchFrom(url, { hmac: { secret: "sp_wrong", projectId: "p" } });
    const staleClock = await fetchFrom(url, {
      hmac: { secret: SECRET, projectId: "p" },
      now: () => new Date(Date.now() - 10 * 60_000),
    });
    for (const outcome of [wrongSecret, staleClock]) {
      expect(outcome).toMatchObject({ ok: false, kind: "permanent", httpStatus: 401 });
      expect(outcome.ok || outcome.reason).toMatch(/HMAC signature rejected/);
      expect(JSON.stringify(outcome)).not.toContain("sp_wrong");
      expect(JSON.stringify(outcome)).not.toContain(SECRET);
    }
  });
});

describe("fetchMetrics: SSRF guard", () => {
  it.each([
    ["127.0.0.1", (port: number) => `http://127.0.0.1:${port}/metrics`],
    ["localhost", (port: number) => `http://localhost:${port}/metrics`],
    ["decimal 127.0.0.1", (port: number) => `http://2130706433:${port}/metrics`],
    ["[::1]", (port: number) => `http://[::1]:${port}/metrics`],
    ["[::ffff:127.0.0.1]", (port: number) => `http://[::ffff:127.0.0.1]:${port}/metrics`],
  ])("refuses %s before connecting", async (_label, urlFor) => {
    const server = await serve(jsonHandler(200, VALID));
    const outcome = await fetchFrom(urlFor(server.port), { allowPrivate: false });
    expect(outcome).toMatchObject({ ok: false, kind: "permanent", httpStatus: null });
    expect(outcome.ok || outcome.reason).toContain("SEQPULSE_ALLOW_PRIVATE_ENDPOINTS");
    expect(server.sockets).toHaveLength(0);
  });

  it("connects to loopback when private endpoints are allowed", async () => {
    const server = await serve(jsonHandler(200, VALID));
    expect(await fetchFrom(`http://localhost:${server.port}/metrics`)).toMatchObject({ ok: true });
    expect(await fetchFrom(`${server.origin}/metrics`)).toMatchObject({ ok: true });
  });

  it("does not follow a redirect to the cloud metadata address", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(302, { Location: "http://169.254.169.254/latest/meta-data/" }).end();
    });
    const outcome = await fetchFrom(`${server.origin}/metrics`);
    expect(outcome).toMatchObject({ ok: false, kind: "permanent", httpStatus: 302 });
    expect(outcome.ok || outcome.reason).toMatch(/302.*redirects are not followed/);
    expect(server.requests).toHaveLength(1);
  });

  it("does not request a redirect target", async () => {
    const target = await serve(jsonHandler(200, VALID));
    const server = await serve((_req, res) => {
      res.writeHead(301, { Location: `${target.origin}/metrics` }).end();
    });
    expect(await fetchFrom(`${server.origin}/metrics`)).toMatchObject({ kind: "permanent", httpStatus: 301 });
    expect(target.sockets).toHaveLength(0);
  });
});

describe("fetchMetrics: transport and status classification", () => {
  it("times out against a server that never answers, and closes the socket", async () => {
    const server = await serve(() => {});
    const started = Date.now();
    const outcome = await fetchFrom(`${server.origin}/metrics`, { timeoutMs: 200 });
    expect(outcome).toMatchObject({ ok: false, kind: "transient", httpStatus: null });
    expect(outcome.ok || outcome.reason).toMatch(/200 ms/);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(server.sockets).toHaveLength(1);
    await closed(server.sockets[0] as Socket);
  });

  it("times out when the body never finishes", async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"metrics": {');
    });
    const outcome = await fetchFrom(`${server.origin}/metrics`, { timeoutMs: 200 });
    expect(outcome).toMatchObject({ ok: false, kind: "transient" });
    await closed(server.sockets[0] as Socket);
  });

  it("reports a refused connection as transient", async () => {
    const port = await closedPort();
    const outcome = await fetchFrom(`http://127.0.0.1:${port}/metrics`);
    expect(outcome).toMatchObject({ ok: false, kind: "transient", httpStatus: null });
    expect(outcome.ok || outcome.reason).toContain("ECONNREFUSED");
  });

  it("reports a connection reset mid-body as transient", async () => {
    const server = await serve((req, res) => {
      res.writeHead(200, { "Content-Length": "1000" });
      res.write('{"metrics":');
      setTimeout(() => req.socket.destroy(), 20);
    });
    expect(await fetchFrom(`${server.origin}/metrics`)).toMatchObject({ ok: false, kind: "transient" });
  });

  it.each([
    [500, "transient"],
    [502, "transient"],
    [503, "transient"],
    [429, "transient"],
    [408, "transient"],
    [404, "permanent"],
    [400, "permanent"],
    [401, "permanent"],
    [403, "permanent"],
  ] as const)("HTTP %i is %s", async (status, kind) => {
    const server = await serve(jsonHandler(status, VALID));
    const outcome = await fetchFrom(`${server.origin}/metrics`);
    expect(outcome).toMatchObject({ ok: false, kind, httpStatus: status });
    expect(outcome.ok || outcome.reason).toContain(String(status));
  });
});

describe("fetchMetrics: body validation", () => {
  it.each([
    ["not JSON", "<html>oops</html>", /not valid JSON/],
    ["a NaN literal", '{"metrics":{"requests_per_sec":NaN}}', /not valid JSON/],
    ["an empty body", "", /not valid JSON/],
    ["no metrics object", { requests_per_sec: 1 }, /metrics: .*expected object/],
    ["metrics as an array", { metrics: [1, 2] }, /metrics: .*expected object/],
    ["an out-of-range error_rate", { metrics: { ...VALID.metrics, error_rate: 1.5 } }, /error_rate.*1\.5/],
    ["a negative latency", { metrics: { ...VALID.metrics, latency_p95: -1 } }, /latency_p95/],
    ["a string value", { metrics: { ...VALID.metrics, cpu_usage: "0.5" } }, /cpu_usage.*number/],
    ["a null value", { metrics: { ...VALID.metrics, memory_usage: null } }, /memory_usage.*number/],
    ["an overflowing number", '{"metrics":{"requests_per_sec":1e999}}', /requests_per_sec.*finite/],
  ])("refuses %s as invalid", async (_label, body, reason) => {
    const server = await serve(jsonHandler(200, body));
    const outcome = await fetchFrom(`${server.origin}/metrics`);
    expect(outcome).toMatchObject({ ok: false, kind: "invalid", httpStatus: 200 });
    expect(outcome.ok || outcome.reason).toMatch(reason);
  });

  it("accepts a v2 body that measures only some metrics (not measured is not invalid)", async () => {
    const server = await serve(jsonHandler(200, { metrics: { latency_p95: 120 } }));
    const outcome = await fetchFrom(`${server.origin}/metrics`);
    expect(outcome).toMatchObject({ ok: true, reading: { metrics: { latency_p95: 120 } } });
  });

  it.each([
    ["with Content-Length", true],
    ["chunked", false],
  ])("aborts an oversized body quickly (%s)", async (_label, declareLength) => {
    const mebibyte = Buffer.alloc(1024 * 1024, "a");
    const server = await serve((_req, res) => {
      res.on("error", () => {});
      if (declareLength) {
        res.writeHead(200, { "Content-Length": String(mebibyte.length) });
        res.end(mebibyte);
        return;
      }
      res.writeHead(200);
      for (let offset = 0; offset < mebibyte.length; offset += 16 * 1024) {
        res.write(mebibyte.subarray(offset, offset + 16 * 1024));
      }
      res.end();
    });
    const started = Date.now();
    const outcome = await fetchFrom(`${server.origin}/metrics`, { maxBodyBytes: 1024, timeoutMs: 5000 });
    expect(outcome).toMatchObject({ ok: false, kind: "invalid", httpStatus: 200 });
    expect(outcome.ok || outcome.reason).toMatch(/too large/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it("refuses URLs that are not http(s)", async () => {
    expect(await fetchFrom("file:///etc/passwd")).toMatchObject({ kind: "permanent", httpStatus: null });
    expect(await fetchFrom("not a url")).toMatchObject({ kind: "permanent", httpStatus: null });
  });
});

describe("parseMetricsPayload: the metrics contract v1 and v2", () => {
  const bucket = (start: string, end: string, requests = 100, errors = 1) => ({
    start,
    end,
    requests,
    errors,
  });

  it("accepts boundary values of a v1 payload", () => {
    const metrics = { requests_per_sec: 0, latency_p95: 0, error_rate: 1, cpu_usage: 0, memory_usage: 1 };
    expect(parseMetricsPayload({ metrics })).toEqual({ ok: true, reading: { metrics, history: [] } });
  });

  it("reads counters, history buckets and custom metrics of a v2 payload", () => {
    const payload = {
      metrics: { latency_p95: 182, queue_depth: 12 },
      counters: { requests_total: 1_843_221, errors_total: 911 },
      history: [
        { ...bucket("2026-12-01T11:58:00Z", "2026-12-01T11:59:00Z", 2470, 3), metrics: { latency_p95: 175 } },
        bucket("2026-12-01T11:59:00Z", "2026-12-01T12:00:00Z"),
      ],
    };
    expect(parseMetricsPayload(payload)).toEqual({
      ok: true,
      reading: { metrics: payload.metrics, counters: payload.counters, history: payload.history },
    });
  });

  it("accepts counters alone", () => {
    expect(parseMetricsPayload({ metrics: {}, counters: { requests_total: 5, errors_total: 0 } }).ok).toBe(
      true,
    );
  });

  it.each([
    ["neither a metric nor counters", { metrics: {} }, /at least one metric or the counters/],
    [
      "a custom metric name with capitals",
      { metrics: { QueueDepth: 1 } },
      /QueueDepth: custom metric names must match/,
    ],
    ["a custom metric that is not a number", { metrics: { queue_depth: "12" } }, /queue_depth/],
    [
      "a fractional counter",
      { metrics: {}, counters: { requests_total: 10.5, errors_total: 0 } },
      /counters.requests_total: requests_total must be a non-negative integer/,
    ],
    [
      "a negative counter",
      { metrics: {}, counters: { requests_total: 10, errors_total: -1 } },
      /errors_total must be a non-negative integer/,
    ],
    [
      "more errors than requests",
      { metrics: {}, counters: { requests_total: 10, errors_total: 11 } },
      /errors_total must not exceed requests_total/,
    ],
    [
      "a bucket whose end is not after its start",
      { metrics: { latency_p95: 1 }, history: [bucket("2026-12-01T12:00:00Z", "2026-12-01T12:00:00Z")] },
      /history\[0\]\.end: end must be after start/,
    ],
    [
      "buckets out of order",
      {
        metrics: { latency_p95: 1 },
        history: [
          bucket("2026-12-01T12:01:00Z", "2026-12-01T12:02:00Z"),
          bucket("2026-12-01T12:00:00Z", "2026-12-01T12:01:00Z"),
        ],
      },
      /history\[1\]\.start: buckets must be oldest first/,
    ],
    [
      "a bucket time that is not ISO 8601",
      { metrics: { latency_p95: 1 }, history: [bucket("yesterday", "2026-12-01T12:00:00Z")] },
      /history\[0\]\.start: must be an ISO 8601 date-time/,
    ],
    [
      "more than 120 buckets",
      {
        metrics: { latency_p95: 1 },
        history: Array.from({ length: 121 }, (_, index) =>
          bucket(
            new Date(Date.UTC(2026, 11, 1, 0, index)).toISOString(),
            new Date(Date.UTC(2026, 11, 1, 0, index + 1)).toISOString(),
          ),
        ),
      },
      /history: history holds at most 120 buckets/,
    ],
  ])("refuses %s with a precise reason", (_label, payload, reason) => {
    const parsed = parseMetricsPayload(payload);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok || parsed.reason).toMatch(reason);
  });
});
