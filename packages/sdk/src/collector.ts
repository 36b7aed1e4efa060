import { Int32Histogram } from "hdr-histogram-js";
import { canonicalPath, SignatureVerifier, type SignedRequest } from "./hmac.js";
import type { BucketMetrics, CurrentMetrics, HistoryBucket, MetricsPayload } from "./payload.js";
import {
  type CgroupLocation,
  type ProcessStats,
  type ResourceLimits,
  readProcessStats,
  readResourceLimits,
} from "./resources.js";

export const DEFAULT_METRICS_PATH = "/seqpulse-metrics";
const SLICE_MS = 10_000;
const MINUTE_MS = 60_000;
const SLICES_PER_MINUTE = MINUTE_MS / SLICE_MS;
/** The rolling window: the current slice and the five before it (50 to 60 s). */
const WINDOW_SLICES = 6;
/** Two minutes of slices, so that a minute's slices are all still there when it is summarised. */
const RING_SLICES = 2 * SLICES_PER_MINUTE;
const HISTORY_MINUTES = 60;
/** Latencies are recorded in microseconds, two significant digits (under 1 % error), up to 10 min. */
const MAX_LATENCY_MICROS = 600_000_000;
const LATENCY_DIGITS = 2;
const CUSTOM_METRIC_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;
const BUILT_IN_METRICS = new Set([
  "requests_per_sec",
  "latency_p95",
  "error_rate",
  "cpu_usage",
  "memory_usage",
]);

export interface SeqPulseOptions {
  /** Where the metrics are served. Default `/seqpulse-metrics`. */
  path?: string;
  /**
   * The project's `hmac_secret`: when set, the metrics path answers only requests SeqPulse signed.
   * During a secret rotation pass both, `[newSecret, oldSecret]`.
   */
  hmacSecret?: string | readonly string[];
  /** Which responses count as errors. Default: status 500 and above. */
  isError?: (statusCode: number) => boolean;
  /** Custom metrics read at each scrape, e.g. `{ queue_depth: () => queue.length }`. */
  gauges?: Readonly<Record<string, () => number>>;
  /** Epoch milliseconds. Default `Date.now`. */
  clock?: () => number;
  /** Where the cgroup v2 CPU and memory limits are read. */
  cgroup?: CgroupLocation;
  /** CPU time and RSS of the process. Default: `process.cpuUsage()` and `process.memoryUsage.rss()`. */
  processStats?: () => ProcessStats;
}

/** A request as the metrics endpoint sees it; `header` takes lower-case names. */
export type MetricsRequest = SignedRequest;

export interface MetricsResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

class Slice {
  index = -1;
  requests = 0;
  errors = 0;
  readonly latency = new Int32Histogram(1, MAX_LATENCY_MICROS, LATENCY_DIGITS);

  reuse(index: number): void {
    this.index = index;
    this.requests = 0;
    this.errors = 0;
    this.latency.reset();
  }
}

/** CPU and memory readings attributed to the minute being filled. */
interface MinuteResources {
  index: number;
  /** The minute's start, or the collector's start for its first minute. */
  start: number;
  cpuMicros: number;
  wallMs: number;
  memorySum: number;
  memoryReadings: number;
}

interface Reading {
  at: number;
  cpuMicros: number;
}

/**
 * Records each request's status and duration and builds the metrics payload: rolling values over
 * the last minute, cumulative counters, and one bucket per closed minute for the last hour.
 *
 * Time is cut into 10-second slices kept in a ring; `record` touches only the current slice, and
 * everything else (closing minutes, reading CPU and memory) happens when a slice boundary passes,
 * at a scrape, or on a 10-second background timer that does not keep the process alive.
 */
export class SeqPulseCollector {
  readonly path: string;
  readonly #isError: (statusCode: number) => boolean;
  readonly #gauges: [string, () => number][];
  readonly #clock: () => number;
  readonly #processStats: () => ProcessStats;
  readonly #limits: ResourceLimits;
  readonly #verifier: SignatureVerifier | undefined;
  readonly #startedAt: number;
  readonly #slices: Slice[] = Array.from({ length: RING_SLICES }, () => new Slice());
  readonly #windowLatency = new Int32Histogram(1, MAX_LATENCY_MICROS, LATENCY_DIGITS);
  #current: Slice;
  #currentEnd: number;
  #minute: MinuteResources;
  /** The CPU reading the next one is measured from. */
  #lastReading: Reading;
  /** Readings at most one per slice, for the rolling CPU; the oldest is at least a window old. */
  #readings: Reading[];
  #history: HistoryBucket[] = [];
  #requestsTotal = 0;
  #errorsTotal = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SeqPulseOptions = {}) {
    this.path = canonicalPath(options.path ?? DEFAULT_METRICS_PATH);
    this.#isError = options.isError ?? isServerError;
    this.#gauges = Object.entries(options.gauges ?? {});
    for (const [name, read] of this.#gauges) {
      if (!CUSTOM_METRIC_PATTERN.test(name) || BUILT_IN_METRICS.has(name) || typeof read !== "function") {
        throw new TypeError(
          `gauge ${JSON.stringify(name)}: the name must match ^[a-z][a-z0-9_]{0,63}$, not be one of the ` +
            "five built-in metrics, and the value must be a function returning a number",
        );
      }
    }
    this.#clock = options.clock ?? Date.now;
    this.#processStats = options.processStats ?? readProcessStats;
    this.#limits = readResourceLimits(options.cgroup);
    if (options.hmacSecret !== undefined) {
      const secrets = typeof options.hmacSecret === "string" ? [options.hmacSecret] : options.hmacSecret;
      this.#verifier = new SignatureVerifier({ secrets, clock: this.#clock });
    }

    const now = this.#clock();
    // Bucket bounds are whole seconds, so the first (partial) minute starts at the second we started.
    this.#startedAt = Math.floor(now / 1000) * 1000;
    const sliceIndex = Math.floor(now / SLICE_MS);
    this.#current = this.#slotOf(sliceIndex);
    this.#current.reuse(sliceIndex);
    this.#currentEnd = (sliceIndex + 1) * SLICE_MS;
    const minuteIndex = Math.floor(now / MINUTE_MS);
    this.#minute = newMinute(minuteIndex, this.#startedAt);
    const stats = this.#processStats();
    this.#lastReading = { at: now, cpuMicros: stats.cpuMicros };
    this.#readings = [this.#lastReading];

    this.#timer = setInterval(() => this.#advance(this.#clock()), SLICE_MS);
    this.#timer.unref();
  }

  /** The CPU and memory the fractions are computed against. */
  get limits(): ResourceLimits {
    return { ...this.#limits };
  }

  /** Counts one finished request. */
  record(statusCode: number, durationMs: number): void {
    const now = this.#clock();
    if (now >= this.#currentEnd) this.#advance(now);
    const slice = this.#current;
    slice.requests++;
    this.#requestsTotal++;
    if (this.#isError(statusCode)) {
      slice.errors++;
      this.#errorsTotal++;
    }
    const micros = durationMs * 1000;
    slice.latency.recordValue(micros > 0 ? Math.round(Math.min(micros, MAX_LATENCY_MICROS)) : 0);
  }

  /** Whether a request is for the metrics endpoint (and so is answered here, not counted). */
  isMetricsRequest(method: string, url: string): boolean {
    return method === "GET" && url.startsWith(this.path) && canonicalPath(url) === this.path;
  }

  /** Answers a metrics request: the payload, or 401 when a configured signature check fails. */
  handle(request: MetricsRequest): MetricsResponse {
    if (this.#verifier !== undefined) {
      const check = this.#verifier.verify(request);
      if (!check.ok) {
        const body = { title: "Unauthorized", status: 401, code: check.code, detail: check.detail };
        return {
          status: 401,
          headers: { "content-type": "application/problem+json", "cache-control": "no-store" },
          body: JSON.stringify(body),
        };
      }
    }
    return {
      status: 200,
      headers: { "content-type": "application/json", "cache-control": "no-store" },
      body: JSON.stringify(this.snapshot()),
    };
  }

  /** The v2 metrics payload at this moment. */
  snapshot(): MetricsPayload {
    const now = this.#clock();
    const stats = this.#advance(now);
    const latency = this.#windowLatency;
    latency.reset();
    let requests = 0;
    let errors = 0;
    const lastIndex = this.#current.index;
    for (let index = lastIndex - WINDOW_SLICES + 1; index <= lastIndex; index++) {
      const slice = this.#slotOf(index);
      if (slice.index !== index) continue;
      requests += slice.requests;
      errors += slice.errors;
      if (slice.requests > 0) latency.add(slice.latency);
    }
    const windowStart = Math.max((lastIndex - WINDOW_SLICES + 1) * SLICE_MS, this.#startedAt);
    const seconds = Math.max(now - windowStart, 1000) / 1000;

    const metrics: CurrentMetrics = { requests_per_sec: requests / seconds };
    if (requests > 0) {
      metrics.latency_p95 = latency.getValueAtPercentile(95) / 1000;
      metrics.error_rate = errors / requests;
    }
    const windowAgo = now - WINDOW_SLICES * SLICE_MS;
    const reference =
      this.#readings.findLast((reading) => reading.at <= windowAgo) ?? (this.#readings[0] as Reading);
    const cpu = this.#cpuFraction(stats.cpuMicros - reference.cpuMicros, now - reference.at);
    if (cpu !== undefined) metrics.cpu_usage = cpu;
    metrics.memory_usage = fraction(stats.rssBytes / this.#limits.memoryBytes);
    for (const [name, read] of this.#gauges) {
      // A gauge that throws or is not a finite number is left out (not measured), not a failed scrape.
      const value = readGauge(read);
      if (value !== undefined) metrics[name] = value;
    }
    return {
      metrics,
      counters: { requests_total: this.#requestsTotal, errors_total: this.#errorsTotal },
      history: [...this.#history],
    };
  }

  /** Stops the background timer. Recording and serving keep working, read on demand. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #slotOf(sliceIndex: number): Slice {
    return this.#slices[sliceIndex % RING_SLICES] as Slice;
  }

  /**
   * Brings everything up to `now`: attributes CPU and memory since the last reading to the minutes
   * they fall in, closes the minutes that ended, and moves to the current slice.
   */
  #advance(now: number): ProcessStats {
    const stats = this.#processStats();
    const last = this.#lastReading;
    const elapsed = now - last.at;
    const cpuSince = stats.cpuMicros - last.cpuMicros;
    let from = last.at;
    while (now >= (this.#minute.index + 1) * MINUTE_MS) {
      const boundary = (this.#minute.index + 1) * MINUTE_MS;
      this.#attribute(this.#minute, from, boundary, elapsed, cpuSince, stats.rssBytes);
      this.#closeMinute(this.#minute, boundary);
      this.#minute = newMinute(this.#minute.index + 1, boundary);
      from = boundary;
    }
    this.#attribute(this.#minute, from, now, elapsed, cpuSince, stats.rssBytes);
    const reading = { at: now, cpuMicros: stats.cpuMicros };
    this.#lastReading = reading;
    this.#keepReading(reading);

    const target = Math.floor(now / SLICE_MS);
    if (target > this.#current.index) {
      for (
        let index = Math.max(this.#current.index + 1, target - RING_SLICES + 1);
        index <= target;
        index++
      ) {
        this.#slotOf(index).reuse(index);
      }
      this.#current = this.#slotOf(target);
      this.#currentEnd = (target + 1) * SLICE_MS;
    }
    return stats;
  }

  /** Adds the share of a reading interval that lies in [from, until) to a minute. */
  #attribute(
    minute: MinuteResources,
    from: number,
    until: number,
    elapsed: number,
    cpuSince: number,
    rssBytes: number,
  ): void {
    if (until < from) return;
    minute.wallMs += until - from;
    minute.cpuMicros += elapsed > 0 ? (cpuSince * (until - from)) / elapsed : 0;
    minute.memorySum += rssBytes;
    minute.memoryReadings++;
  }

  #closeMinute(minute: MinuteResources, end: number): void {
    let requests = 0;
    let errors = 0;
    const latency = this.#windowLatency;
    latency.reset();
    const first = minute.index * SLICES_PER_MINUTE;
    for (let index = first; index < first + SLICES_PER_MINUTE; index++) {
      const slice = this.#slotOf(index);
      if (slice.index !== index) continue;
      requests += slice.requests;
      errors += slice.errors;
      if (slice.requests > 0) latency.add(slice.latency);
    }
    const metrics: BucketMetrics = { requests_per_sec: requests / ((end - minute.start) / 1000) };
    if (requests > 0) {
      metrics.latency_p95 = latency.getValueAtPercentile(95) / 1000;
      metrics.error_rate = errors / requests;
    }
    const cpu = this.#cpuFraction(minute.cpuMicros, minute.wallMs);
    if (cpu !== undefined) metrics.cpu_usage = cpu;
    if (minute.memoryReadings > 0) {
      metrics.memory_usage = fraction(minute.memorySum / minute.memoryReadings / this.#limits.memoryBytes);
    }
    this.#history.push({ start: isoSeconds(minute.start), end: isoSeconds(end), requests, errors, metrics });
    if (this.#history.length > HISTORY_MINUTES) this.#history.shift();
  }

  #keepReading(reading: Reading): void {
    const readings = this.#readings;
    const newest = readings[readings.length - 1] as Reading;
    if (Math.floor(newest.at / SLICE_MS) === Math.floor(reading.at / SLICE_MS)) return;
    readings.push(reading);
    const windowStart = reading.at - WINDOW_SLICES * SLICE_MS;
    // Keep one reading at least a window old: it is the rolling CPU's reference.
    while (readings.length > 1 && (readings[1] as Reading).at <= windowStart) readings.shift();
  }

  #cpuFraction(cpuMicros: number, wallMs: number): number | undefined {
    if (!(wallMs > 0)) return undefined;
    return fraction(cpuMicros / 1000 / wallMs / this.#limits.cores);
  }
}

export function createSeqPulse(options?: SeqPulseOptions): SeqPulseCollector {
  return new SeqPulseCollector(options);
}

function isServerError(statusCode: number): boolean {
  return statusCode >= 500;
}

function readGauge(read: () => number): number | undefined {
  try {
    const value = read();
    return typeof value === "number" && Number.isFinite(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function newMinute(index: number, start: number): MinuteResources {
  return { index, start, cpuMicros: 0, wallMs: 0, memorySum: 0, memoryReadings: 0 };
}

/** Clamped to 0..1: CPU time and wall time are read a moment apart, so a busy process can read 1.02. */
function fraction(value: number): number {
  return Math.min(1, Math.max(0, value));
}

function isoSeconds(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, "Z");
}
