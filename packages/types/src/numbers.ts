import type { MetricName } from "./enums.js";

/**
 * The median of a list, or undefined for an empty one. The two middle values are halved before
 * they are added, so the median of two values near Number.MAX_VALUE stays finite.
 */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] as number;
  if (sorted.length % 2 === 1) return upper;
  const lower = sorted[middle - 1] as number;
  return lower / 2 + upper / 2;
}

const RATIO_METRICS: ReadonlySet<string> = new Set<MetricName>(["error_rate", "cpu_usage", "memory_usage"]);

/** Whether a metric is a fraction (0..1) shown as a percentage. */
export function isRatioMetric(metric: string): boolean {
  return RATIO_METRICS.has(metric);
}

/** A metric value for people: `182 ms`, `41.2 req/s`, `0.40 %`; custom metrics as plain numbers. */
export function formatMetricValue(metric: string, value: number | null | undefined): string {
  if (value === undefined || value === null) return "—";
  if (metric === "latency_p95") return `${value >= 10 ? Math.round(value) : roundSignificant(value)} ms`;
  if (metric === "requests_per_sec") return `${roundSignificant(value)} req/s`;
  if (isRatioMetric(metric)) return `${(value * 100).toFixed(metric === "error_rate" ? 2 : 1)} %`;
  return String(roundSignificant(value));
}

/** Four significant digits, enough for a reason or a table cell. */
export function roundSignificant(value: number): number {
  return Number(value.toPrecision(4));
}
