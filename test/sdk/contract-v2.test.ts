import { describe, expect, it } from "vitest";
import { createSeqPulse } from "../../packages/sdk/src/index.js";

/**
 * Metrics contract v2 as issue 8 states it, checked by hand until packages/types exports its
 * schema; then this check gives way to that schema.
 */
const BUILT_IN = ["requests_per_sec", "latency_p95", "error_rate", "cpu_usage", "memory_usage"];
const FRACTIONS = new Set(["error_rate", "cpu_usage", "memory_usage"]);
const CUSTOM_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const MAX_BODY_BYTES = 64 * 1024;
const MAX_BUCKETS = 120;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function metricProblems(where: string, metrics: unknown, allowCustom: boolean): string[] {
  if (!isRecord(metrics)) return [`${where} is not an object`];
  const problems: string[] = [];
  for (const [name, value] of Object.entries(metrics)) {
    if (!BUILT_IN.includes(name) && !(allowCustom && CUSTOM_NAME.test(name)))
      problems.push(`${where}.${name}: unknown`);
    if (typeof value !== "number" || !Number.isFinite(value)) problems.push(`${where}.${name}: not finite`);
    else if (value < 0) problems.push(`${where}.${name}: negative`);
    else if (FRACTIONS.has(name) && value > 1) problems.push(`${where}.${name}: above 1`);
  }
  return problems;
}

function countProblems(where: string, value: unknown): string[] {
  return Number.isSafeInteger(value) && (value as number) >= 0
    ? []
    : [`${where}: not a non-negative integer`];
}

function contractV2Problems(body: string): string[] {
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) return ["body over 64 KiB"];
  const payload: unknown = JSON.parse(body);
  if (!isRecord(payload)) return ["not an object"];
  const problems = Object.keys(payload)
    .filter((key) => !["metrics", "counters", "history"].includes(key))
    .map((key) => `${key}: unknown`);
  problems.push(...metricProblems("metrics", payload.metrics, true));
  const { counters, history } = payload;
  if (counters !== undefined) {
    if (!isRecord(counters)) problems.push("counters is not an object");
    else {
      problems.push(...countProblems("counters.requests_total", counters.requests_total));
      problems.push(...countProblems("counters.errors_total", counters.errors_total));
      if ((counters.errors_total as number) > (counters.requests_total as number))
        problems.push("more errors than requests");
    }
  }
  if (isRecord(payload.metrics) && Object.keys(payload.metrics).length === 0 && counters === undefined) {
    problems.push("neither a metric nor the counters");
  }
  if (history !== undefined) {
    if (!Array.isArray(history)) return [...problems, "history is not an array"];
    if (history.length > MAX_BUCKETS) problems.push(`history has ${history.length} buckets`);
    let previousEnd = Number.NEGATIVE_INFINITY;
    for (const [index, bucket] of (history as unknown[]).entries()) {
      const where = `history[${index}]`;
      if (!isRecord(bucket)) {
        problems.push(`${where} is not an object`);
        continue;
      }
      const extra = Object.keys(bucket).filter(
        (key) => !["start", "end", "requests", "errors", "metrics"].includes(key),
      );
      if (extra.length > 0) problems.push(`${where}: unknown ${extra.join(", ")}`);
      const start =
        typeof bucket.start === "string" && ISO_8601.test(bucket.start)
          ? Date.parse(bucket.start)
          : Number.NaN;
      const end =
        typeof bucket.end === "string" && ISO_8601.test(bucket.end) ? Date.parse(bucket.end) : Number.NaN;
      if (Number.isNaN(start) || Number.isNaN(end)) problems.push(`${where}: start/end not ISO-8601`);
      if (!(end > start)) problems.push(`${where}: end not after start`);
      if (start < previousEnd) problems.push(`${where}: not oldest first, or overlapping`);
      previousEnd = end;
      problems.push(...countProblems(`${where}.requests`, bucket.requests));
      problems.push(...countProblems(`${where}.errors`, bucket.errors));
      problems.push(...metricProblems(`${where}.metrics`, bucket.metrics, false));
    }
  }
  return problems;
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

describe("the contract check itself", () => {
  it.each([
    ["a fraction above 1", { metrics: { error_rate: 1.5 } }, "metrics.error_rate: above 1"],
    ["a negative latency", { metrics: { latency_p95: -1 } }, "metrics.latency_p95: negative"],
    ["a custom name out of pattern", { metrics: { QueueDepth: 1 } }, "metrics.QueueDepth: unknown"],
    [
      "a fractional counter",
      { metrics: {}, counters: { requests_total: 1.5, errors_total: 0 } },
      "counters.requests_total: not a non-negative integer",
    ],
    [
      "a bucket ending before it starts",
      {
        metrics: { cpu_usage: 0.1 },
        history: [
          { start: "2026-12-01T11:59:00Z", end: "2026-12-01T11:58:00Z", requests: 1, errors: 0, metrics: {} },
        ],
      },
      "history[0]: end not after start",
    ],
    [
      "121 buckets",
      { metrics: { cpu_usage: 0.1 }, history: Array.from({ length: 121 }, () => null) },
      "history has 121 buckets",
    ],
  ])("flags %s", (_case, payload, problem) => {
    expect(contractV2Problems(JSON.stringify(payload))).toContain(problem);
  });
});
