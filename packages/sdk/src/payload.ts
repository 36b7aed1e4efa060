/** The SeqPulse metrics contract, version 2, as this SDK serves it. */

/** Metric values of the rolling window; a metric with nothing to measure (no requests) is left out. */
export interface CurrentMetrics {
  requests_per_sec: number;
  /** Milliseconds. */
  latency_p95?: number;
  /** 0..1 */
  error_rate?: number;
  /** 0..1 */
  cpu_usage?: number;
  /** 0..1 */
  memory_usage?: number;
  /** Custom gauges (`gauges` option). */
  [custom: string]: number | undefined;
}

export interface BucketMetrics {
  requests_per_sec: number;
  latency_p95?: number;
  error_rate?: number;
  cpu_usage?: number;
  memory_usage?: number;
}

/** One closed minute. */
export interface HistoryBucket {
  /** ISO-8601 UTC, `YYYY-MM-DDTHH:MM:SSZ`. */
  start: string;
  end: string;
  requests: number;
  errors: number;
  metrics: BucketMetrics;
}

export interface MetricsPayload {
  metrics: CurrentMetrics;
  /** Cumulative since the process (the collector) started. */
  counters: { requests_total: number; errors_total: number };
  /** Closed one-minute buckets, oldest first, at most 60. */
  history: HistoryBucket[];
}
