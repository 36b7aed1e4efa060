import { describePayloadProblem, MAX_METRICS_BODY_BYTES, MetricsPayload } from "@seqpulse/types";
import { describe, expect, it } from "vitest";
import { createSeqPulse } from "../../packages/sdk/src/index.js";

const BUILT_IN = ["requests_per_sec", "latency_p95", "error_rate", "cpu_usage", "memory_usage"];

/**
 * The problem SeqPulse would record for this body, checked with the contract itself (the zod schema
 * of @seqpulse/types the collector validates with) and worded as the collector words it; [] when valid.
 */
function contractV2Problems(body: string): string[] {
  if (Buffer.byteLength(body) > MAX_METRICS_BODY_BYTES) return [`body over ${MAX_METRICS_BODY_BYTES} bytes`];
  const parsed = MetricsPayload.safeParse(JSON.parse(body), { reportInput: true });
  return parsed.success ? [] : [describePayloadProblem(parsed.error)];
}

function busyCollector() {
  let now = Date.parse("2026-12-01T10:00:00.400Z");
  let cpuMicros = 0;
  const seqpulse = createSeqPulse({
    clock: () => now,
    processStats: () => ({ cpuMicros, rssBytes: 300 * 1024 * 1024 }),
    gauges: { queue_depth: () => 12 },
  });
  const recorded = { requests: 0, errors: 0 };
  // 70 minutes of traffic, 1 to 20 requests each second, a 5xx now and then, a quiet spell.
  for (let second = 0; second < 70 * 60; second++) {
    const quiet = second >= 20 * 60 && second < 23 * 60;
    const requests = quiet ? 0 : 1 + (second % 20);
    for (let i = 0; i < requests; i++) {
      const status = (second + i) % 97 === 0 ? 503 : 200;
      seqpulse.record(status, 5 + ((second * 31 + i * 7) % 400));
      recorded.requests++;
      if (status === 503) recorded.errors++;
    }
    now += 1000;
    cpuMicros += 150_000;
  }
  return { seqpulse, recorded };
}

describe("the SDK's payload", () => {
  it("matches contract v2 after an hour of varied traffic", () => {
    const { seqpulse, recorded } = busyCollector();
    const body = seqpulse.handle({ method: "GET", url: "/seqpulse-metrics", header: () => undefined }).body;
    seqpulse.close();
    expect(contractV2Problems(body)).toEqual([]);
    const payload = JSON.parse(body);
    expect(Object.keys(payload).sort()).toEqual(["counters", "history", "metrics"]);
    expect(Object.keys(payload.metrics).sort()).toEqual([...BUILT_IN, "queue_depth"].sort());
    expect(payload.history).toHaveLength(60);
    // Minutes 20 to 22 were quiet: buckets with no requests, and so no latency or error rate.
    const quiet = payload.history.filter((bucket: { requests: number }) => bucket.requests === 0);
    expect(quiet.map((bucket: { start: string }) => bucket.start)).toEqual([
      "2026-12-01T10:20:00Z",
      "2026-12-01T10:21:00Z",
      "2026-12-01T10:22:00Z",
    ]);
    expect(Object.keys(quiet[0].metrics).sort()).toEqual(["cpu_usage", "memory_usage", "requests_per_sec"]);
    expect(payload.counters.requests_total).toBe(recorded.requests);
    expect(payload.counters.errors_total).toBe(recorded.errors);
  });

  it("stays under 64 KiB with a full history of large numbers", () => {
    let now = Date.parse("2026-12-01T10:00:00Z");
    const seqpulse = createSeqPulse({ clock: () => now });
    for (let minute = 0; minute < 65; minute++) {
      for (let i = 0; i < 50_000; i++) seqpulse.record(i % 3 === 0 ? 500 : 200, 123.456 + (i % 1000) / 7);
      now += 60_000;
    }
    const body = JSON.stringify(seqpulse.snapshot());
    seqpulse.close();
    expect(contractV2Problems(body)).toEqual([]);
    expect(Buffer.byteLength(body)).toBeLessThan(32 * 1024);
  });

  it("with no traffic yet still carries the counters and rate", () => {
    const seqpulse = createSeqPulse();
    const body = JSON.stringify(seqpulse.snapshot());
    seqpulse.close();
    expect(contractV2Problems(body)).toEqual([]);
    expect(JSON.parse(body)).toMatchObject({
      metrics: { requests_per_sec: 0 },
      counters: { requests_total: 0 },
    });
  });
});

describe("the contract the SDK is checked against", () => {
  it.each([
    [
      "a fraction above 1",
      { metrics: { error_rate: 1.5 } },
      "metrics.error_rate: error_rate must be between 0 and 1 (got 1.5)",
    ],
    [
      "a negative latency",
      { metrics: { latency_p95: -1 } },
      "metrics.latency_p95: latency_p95 must be at least 0 (got -1)",
    ],
    [
      "a custom name out of pattern",
      { metrics: { QueueDepth: 1 } },
      "metrics.QueueDepth: custom metric names must match ^[a-z][a-z0-9_]{0,63}$",
    ],
    [
      "a fractional counter",
      { metrics: {}, counters: { requests_total: 1.5, errors_total: 0 } },
      "counters.requests_total: requests_total must be a non-negative integer (got 1.5)",
    ],
    [
      "a bucket ending before it starts",
      {
        metrics: { cpu_usage: 0.1 },
        history: [
          { start: "2026-12-01T11:59:00Z", end: "2026-12-01T11:58:00Z", requests: 1, errors: 0, metrics: {} },
        ],
      },
      "history[0].end: end must be after start",
    ],
    [
      "121 buckets",
      { metrics: { cpu_usage: 0.1 }, history: Array.from({ length: 121 }, () => null) },
      "history: history holds at most 120 buckets",
    ],
    [
      "neither a metric nor the counters",
      { metrics: {} },
      "metrics: at least one metric or the counters must be present",
    ],
  ])("flags %s", (_case, payload, problem) => {
    expect(contractV2Problems(JSON.stringify(payload))).toEqual([problem]);
  });

  it("flags a body over 64 KiB before parsing it", () => {
    const padded = JSON.stringify({
      metrics: { cpu_usage: 0.1 },
      padding: "x".repeat(MAX_METRICS_BODY_BYTES),
    });
    expect(contractV2Problems(padded)).toEqual([`body over ${MAX_METRICS_BODY_BYTES} bytes`]);
  });
});
