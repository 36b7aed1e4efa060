import { afterEach, describe, expect, it } from "vitest";
import { SeqPulseCollector, type SeqPulseOptions } from "./collector.js";
import { fakeClock, fakeProcess, HALF_CORE_512_MIB } from "./test-support/support.js";

const MIB = 1024 * 1024;
const collectors: SeqPulseCollector[] = [];

function collector(options: SeqPulseOptions): SeqPulseCollector {
  const created = new SeqPulseCollector({ cgroup: HALF_CORE_512_MIB, ...options });
  collectors.push(created);
  return created;
}

afterEach(() => {
  for (const created of collectors.splice(0)) created.close();
});

describe("latency_p95", () => {
  it("is the 95th percentile of the recorded durations, within 1 %", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    // 1..1000 ms in a shuffled order: the 95th percentile is 950 ms.
    const durations = Array.from({ length: 1000 }, (_, i) => ((i * 7919) % 1000) + 1);
    for (const duration of durations) seqpulse.record(200, duration);
    const p95 = seqpulse.snapshot().metrics.latency_p95 as number;
    expect(p95 / 950).toBeGreaterThanOrEqual(1);
    expect(p95 / 950).toBeLessThan(1.01);
  });

  it("follows a slow tail and keeps sub-millisecond precision", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const slowTail = collector({ clock: clock.now });
    for (let i = 0; i < 900; i++) slowTail.record(200, 10);
    for (let i = 0; i < 100; i++) slowTail.record(200, 480);
    expect(slowTail.snapshot().metrics.latency_p95).toBeCloseTo(480, -1);

    const fast = collector({ clock: clock.now });
    for (let i = 0; i < 100; i++) fast.record(200, 0.25);
    const p95 = fast.snapshot().metrics.latency_p95 as number;
    expect(p95).toBeGreaterThanOrEqual(0.25);
    expect(p95).toBeLessThan(0.2525);
  });

  it("covers the last minute only", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    for (let i = 0; i < 50; i++) seqpulse.record(200, 900);
    clock.advance(70_000);
    for (let i = 0; i < 50; i++) seqpulse.record(200, 20);
    expect(seqpulse.snapshot().metrics.latency_p95).toBeCloseTo(20, 0);
  });

  it("clamps absurd durations instead of throwing", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    seqpulse.record(200, -3);
    seqpulse.record(200, 3_600_000);
    seqpulse.record(200, Number.POSITIVE_INFINITY);
    const { metrics, counters } = seqpulse.snapshot();
    expect(counters.requests_total).toBe(3);
    expect(metrics.latency_p95).toBeGreaterThanOrEqual(600_000);
    expect(Number.isFinite(metrics.latency_p95)).toBe(true);
  });
});

describe("requests_per_sec", () => {
  it("is the rate over the rolling window, which drops requests older than a minute", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    for (let i = 0; i < 300; i++) seqpulse.record(200, 5);
    clock.advance(30_000);
    // 300 requests in the 30 s since the collector started.
    expect(seqpulse.snapshot().metrics.requests_per_sec).toBeCloseTo(10, 6);
    clock.advance(45_000);
    for (let i = 0; i < 60; i++) seqpulse.record(200, 5);
    // At 11:59:15 the window starts at the slice 11:58:20: the first 300 are out of it.
    expect(seqpulse.snapshot().metrics.requests_per_sec).toBeCloseTo(60 / 55, 6);
  });

  it("is 0 with no traffic, and then latency and error rate are not measured", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    clock.advance(5_000);
    const { metrics } = seqpulse.snapshot();
    expect(metrics.requests_per_sec).toBe(0);
    expect(metrics).not.toHaveProperty("latency_p95");
    expect(metrics).not.toHaveProperty("error_rate");
  });
});

describe("error_rate", () => {
  it("counts 5xx responses as errors by default, not 4xx", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    for (const status of [200, 201, 301, 400, 404, 429, 499, 500, 502, 503]) seqpulse.record(status, 5);
    const { metrics, counters } = seqpulse.snapshot();
    expect(metrics.error_rate).toBeCloseTo(0.3, 10);
    expect(counters).toEqual({ requests_total: 10, errors_total: 3 });
  });

  it("uses the classifier given", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now, isError: (status) => status >= 400 && status !== 404 });
    for (const status of [200, 400, 404, 429, 500]) seqpulse.record(status, 5);
    expect(seqpulse.snapshot().metrics.error_rate).toBeCloseTo(0.6, 10);
  });
});

describe("counters", () => {
  it("are cumulative since start while the window rolls on", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    for (let i = 0; i < 40; i++) seqpulse.record(i % 10 === 0 ? 500 : 200, 5);
    clock.advance(5 * 60_000);
    for (let i = 0; i < 10; i++) seqpulse.record(503, 5);
    const { metrics, counters } = seqpulse.snapshot();
    expect(counters).toEqual({ requests_total: 50, errors_total: 14 });
    expect(metrics.error_rate).toBe(1);
    clock.advance(90 * 60_000);
    expect(seqpulse.snapshot().counters).toEqual({ requests_total: 50, errors_total: 14 });
  });
});

describe("history", () => {
  it("has one bucket per closed minute, oldest first, each with its own counts and metrics", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    for (let i = 0; i < 120; i++) seqpulse.record(i < 6 ? 500 : 200, 10);
    clock.set("2026-12-01T11:59:10Z");
    for (let i = 0; i < 30; i++) seqpulse.record(200, 200);
    clock.set("2026-12-01T11:59:59.999Z");
    expect(seqpulse.snapshot().history).toHaveLength(1);
    clock.set("2026-12-01T12:00:00.500Z");
    const { history } = seqpulse.snapshot();
    expect(history.map(({ start, end, requests, errors }) => ({ start, end, requests, errors }))).toEqual([
      { start: "2026-12-01T11:58:00Z", end: "2026-12-01T11:59:00Z", requests: 120, errors: 6 },
      { start: "2026-12-01T11:59:00Z", end: "2026-12-01T12:00:00Z", requests: 30, errors: 0 },
    ]);
    expect(history[0]?.metrics).toMatchObject({ requests_per_sec: 2, error_rate: 0.05 });
    expect(history[0]?.metrics.latency_p95).toBeCloseTo(10, 0);
    expect(history[1]?.metrics).toMatchObject({ requests_per_sec: 0.5, error_rate: 0 });
    expect(history[1]?.metrics.latency_p95).toBeCloseTo(200, -1);
  });

  it("starts with a partial minute from the second the collector started", () => {
    const clock = fakeClock("2026-12-01T11:58:30.250Z");
    const seqpulse = collector({ clock: clock.now });
    for (let i = 0; i < 15; i++) seqpulse.record(200, 10);
    clock.set("2026-12-01T11:59:01Z");
    const [first] = seqpulse.snapshot().history;
    expect(first).toMatchObject({ start: "2026-12-01T11:58:30Z", end: "2026-12-01T11:59:00Z", requests: 15 });
    expect(first?.metrics.requests_per_sec).toBeCloseTo(0.5, 10);
  });

  it("keeps quiet minutes as buckets with no requests", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const seqpulse = collector({ clock: clock.now });
    seqpulse.record(200, 10);
    clock.set("2026-12-01T12:03:20Z");
    const { history } = seqpulse.snapshot();
    expect(history.map((bucket) => [bucket.start, bucket.requests])).toEqual([
      ["2026-12-01T11:58:00Z", 1],
      ["2026-12-01T11:59:00Z", 0],
      ["2026-12-01T12:00:00Z", 0],
      ["2026-12-01T12:01:00Z", 0],
      ["2026-12-01T12:02:00Z", 0],
    ]);
    expect(history[1]?.metrics).toEqual({
      requests_per_sec: 0,
      cpu_usage: expect.any(Number),
      memory_usage: expect.any(Number),
    });
  });

  it("keeps the last 60 minutes", () => {
    const clock = fakeClock("2026-12-01T10:00:00Z");
    const seqpulse = collector({ clock: clock.now });
    for (let minute = 0; minute < 90; minute++) {
      for (let i = 0; i <= minute; i++) seqpulse.record(200, 5);
      clock.advance(60_000);
    }
    const { history } = seqpulse.snapshot();
    expect(history).toHaveLength(60);
    expect(history[0]).toMatchObject({ start: "2026-12-01T10:30:00Z", requests: 31 });
    expect(history[59]).toMatchObject({
      start: "2026-12-01T11:29:00Z",
      end: "2026-12-01T11:30:00Z",
      requests: 90,
    });
  });

  it("attributes CPU time and memory to the minutes they were used in", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const usage = fakeProcess({ cpuMicros: 5_000_000, rssBytes: 128 * MIB });
    const seqpulse = collector({ clock: clock.now, processStats: usage.read });
    // Half a core allowed (fixture): 15 s of CPU in a minute is 50 %, 30 s is 100 %.
    clock.set("2026-12-01T11:59:00Z");
    usage.stats.cpuMicros += 15_000_000;
    usage.stats.rssBytes = 256 * MIB;
    seqpulse.snapshot();
    clock.set("2026-12-01T12:01:00Z");
    usage.stats.cpuMicros += 60_000_000;
    seqpulse.snapshot();
    const { history } = seqpulse.snapshot();
    expect(history.map((bucket) => bucket.metrics.cpu_usage)).toEqual([0.5, 1, 1]);
    expect(history.map((bucket) => bucket.metrics.memory_usage)).toEqual([0.5, 0.5, 0.5]);
  });
});

describe("cpu_usage and memory_usage", () => {
  it("are computed against the limits read at start, which the collector shows", () => {
    expect(collector({}).limits).toEqual({ cores: 0.5, memoryBytes: 512 * MIB });
  });

  it("are fractions of the cgroup's CPU quota and memory limit", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const usage = fakeProcess({ cpuMicros: 1_000_000, rssBytes: 128 * MIB });
    const seqpulse = collector({ clock: clock.now, processStats: usage.read });
    clock.advance(20_000);
    usage.stats.cpuMicros += 4_000_000;
    usage.stats.rssBytes = 384 * MIB;
    const { metrics } = seqpulse.snapshot();
    // 4 s of CPU in 20 s on half a core; 384 of 512 MiB.
    expect(metrics.cpu_usage).toBeCloseTo(0.4, 10);
    expect(metrics.memory_usage).toBeCloseTo(0.75, 10);
  });

  it("measure CPU over the last minute once the process has run that long", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const usage = fakeProcess();
    const seqpulse = collector({ clock: clock.now, processStats: usage.read });
    // A busy first two minutes, then 10 idle ones, read every 10 s as the timer would.
    for (let second = 10; second <= 720; second += 10) {
      clock.set(`2026-12-01T11:58:00Z`);
      clock.advance(second * 1000);
      if (second <= 120) usage.stats.cpuMicros += 5_000_000;
      seqpulse.snapshot();
    }
    expect(seqpulse.snapshot().metrics.cpu_usage).toBe(0);
  });

  it("never leave 0..1", () => {
    const clock = fakeClock("2026-12-01T11:58:00Z");
    const usage = fakeProcess({ cpuMicros: 0, rssBytes: 0 });
    const seqpulse = collector({ clock: clock.now, processStats: usage.read });
    clock.advance(10_000);
    usage.stats.cpuMicros += 40_000_000;
    usage.stats.rssBytes = 4096 * MIB;
    const { metrics } = seqpulse.snapshot();
    expect(metrics.cpu_usage).toBe(1);
    expect(metrics.memory_usage).toBe(1);
  });
});

describe("gauges", () => {
  it("adds custom metrics read at each scrape, leaving out values that are not finite or throw", () => {
    let depth = 3;
    const seqpulse = collector({
      gauges: {
        queue_depth: () => depth,
        broken_gauge: () => Number.NaN,
        failing_gauge: () => {
          throw new Error("queue unreachable");
        },
      },
    });
    expect(seqpulse.snapshot().metrics.queue_depth).toBe(3);
    depth = 7;
    const { metrics } = seqpulse.snapshot();
    expect(metrics.queue_depth).toBe(7);
    expect(metrics).not.toHaveProperty("broken_gauge");
    expect(metrics).not.toHaveProperty("failing_gauge");
  });

  it("refuses names the contract does not allow, and the built-in names", () => {
    for (const name of ["QueueDepth", "1queue", "queue-depth", "a".repeat(65), "latency_p95"]) {
      expect(() => collector({ gauges: { [name]: () => 1 } })).toThrow(/must match/);
    }
  });
});

describe("the metrics path", () => {
  it("is matched in its canonical form, for GET only", () => {
    const seqpulse = collector({ path: "/internal/metrics/" });
    expect(seqpulse.path).toBe("/internal/metrics");
    expect(seqpulse.isMetricsRequest("GET", "/internal/metrics")).toBe(true);
    expect(seqpulse.isMetricsRequest("GET", "/internal/metrics/?x=1")).toBe(true);
    expect(seqpulse.isMetricsRequest("GET", "/internal/metricsx")).toBe(false);
    expect(seqpulse.isMetricsRequest("GET", "/internal")).toBe(false);
    expect(seqpulse.isMetricsRequest("POST", "/internal/metrics")).toBe(false);
  });
});
