import { z } from "zod";
import { MetricName, VerdictValue } from "./enums.js";

const ratio = z.number().min(0).max(1);

/** Limit rule for a metric that is bad when high (latency, errors, cpu, memory). */
export const CeilingMetricSettings = z
  .object({
    /** Absolute limit, in the metric's unit (ms for latency_p95, 0..1 for the rest). */
    limit: z.number().positive(),
    /** Share of post samples that may breach before the breach counts. */
    tolerance: ratio,
    /** A critical metric recommends rollback; others only warn. */
    critical: z.boolean(),
    /** Regression against the baseline: both the ratio and the absolute increase must be reached. */
    regression_min_ratio: z.number().min(1),
    regression_min_delta: z.number().min(0),
  })
  .strict();
export type CeilingMetricSettings = z.infer<typeof CeilingMetricSettings>;

export const TrafficSettings = z
  .object({
    /** requests_per_sec below baseline by more than this share is a traffic drop. */
    max_drop: ratio,
    /** Traffic drops are only judged when the baseline has at least this many requests per second. */
    min_baseline_rps: z.number().min(0),
    tolerance: ratio,
    critical: z.boolean(),
  })
  .strict();
export type TrafficSettings = z.infer<typeof TrafficSettings>;

export const AnalysisSettings = z
  .object({
    /** Limits are multiplied by this factor before comparing (0.9 = alert at 90 % of the limit). */
    safety_factor: z.number().gt(0).max(1),
    latency_p95: CeilingMetricSettings,
    error_rate: CeilingMetricSettings,
    cpu_usage: CeilingMetricSettings,
    memory_usage: CeilingMetricSettings,
    requests_per_sec: TrafficSettings,
    /** Minimum valid post samples: at least this many... */
    min_post_samples: z.number().int().min(1),
    /** ...and at least this share of the planned post samples. */
    min_post_ratio: ratio,
    /** Fail-fast: a critical metric at or above limit × factor in this many consecutive samples ends the window early. */
    fail_fast_enabled: z.boolean(),
    fail_fast_factor: z.number().min(1),
    fail_fast_consecutive: z
      .number()
      .int()
      .min(2, "must be at least 2: one sample on its own never recommends a rollback"),
  })
  .strict();
export type AnalysisSettings = z.infer<typeof AnalysisSettings>;

export const DEFAULT_ANALYSIS_SETTINGS: AnalysisSettings = {
  safety_factor: 0.9,
  latency_p95: {
    limit: 300,
    tolerance: 0.2,
    critical: false,
    regression_min_ratio: 1.5,
    regression_min_delta: 50,
  },
  error_rate: {
    limit: 0.01,
    tolerance: 0.05,
    critical: true,
    regression_min_ratio: 3,
    regression_min_delta: 0.005,
  },
  cpu_usage: {
    limit: 0.8,
    tolerance: 0.2,
    critical: false,
    regression_min_ratio: 1.5,
    regression_min_delta: 0.2,
  },
  memory_usage: {
    limit: 0.8,
    tolerance: 0.1,
    critical: false,
    regression_min_ratio: 1.5,
    regression_min_delta: 0.2,
  },
  requests_per_sec: { max_drop: 0.2, min_baseline_rps: 0.5, tolerance: 0.2, critical: true },
  min_post_samples: 3,
  min_post_ratio: 0.6,
  fail_fast_enabled: true,
  fail_fast_factor: 2,
  fail_fast_consecutive: 2,
};

/** Partial override accepted by the admin API; merged over the defaults per metric. */
export const AnalysisSettingsPatch = z
  .object({
    safety_factor: AnalysisSettings.shape.safety_factor,
    latency_p95: CeilingMetricSettings.partial(),
    error_rate: CeilingMetricSettings.partial(),
    cpu_usage: CeilingMetricSettings.partial(),
    memory_usage: CeilingMetricSettings.partial(),
    requests_per_sec: TrafficSettings.partial(),
    min_post_samples: AnalysisSettings.shape.min_post_samples,
    min_post_ratio: AnalysisSettings.shape.min_post_ratio,
    fail_fast_enabled: AnalysisSettings.shape.fail_fast_enabled,
    fail_fast_factor: AnalysisSettings.shape.fail_fast_factor,
    fail_fast_consecutive: AnalysisSettings.shape.fail_fast_consecutive,
  })
  .partial()
  .strict();
export type AnalysisSettingsPatch = z.infer<typeof AnalysisSettingsPatch>;

export function mergeAnalysisSettings(
  base: AnalysisSettings,
  patch: AnalysisSettingsPatch | undefined,
): AnalysisSettings {
  if (!patch) return base;
  return {
    ...base,
    ...patch,
    latency_p95: { ...base.latency_p95, ...patch.latency_p95 },
    error_rate: { ...base.error_rate, ...patch.error_rate },
    cpu_usage: { ...base.cpu_usage, ...patch.cpu_usage },
    memory_usage: { ...base.memory_usage, ...patch.memory_usage },
    requests_per_sec: { ...base.requests_per_sec, ...patch.requests_per_sec },
  };
}

export const MetricValues = z
  .object({
    requests_per_sec: z.number(),
    latency_p95: z.number(),
    error_rate: z.number(),
    cpu_usage: z.number(),
    memory_usage: z.number(),
  })
  .strict();
export type MetricValues = z.infer<typeof MetricValues>;

export const reasonRules = [
  "absolute_limit",
  "regression",
  "traffic_drop",
  "fail_fast",
  "insufficient_data",
] as const;
export const ReasonRule = z.enum(reasonRules);
export type ReasonRule = z.infer<typeof ReasonRule>;

export const VerdictReason = z.object({
  metric: MetricName.nullable(),
  rule: ReasonRule,
  baseline: z.number().nullable(),
  observed: z.number().nullable(),
  threshold: z.number().nullable(),
  /** Share of post samples that broke the rule. */
  exceed_ratio: z.number().nullable(),
  tolerance: z.number().nullable(),
  severity: z.enum(["warning", "critical"]),
  message: z.string(),
});
export type VerdictReason = z.infer<typeof VerdictReason>;

export const DataQuality = z.object({
  score: ratio,
  issues: z.array(z.string()),
});
export type DataQuality = z.infer<typeof DataQuality>;

export const AnalysisResult = z.object({
  verdict: VerdictValue,
  confidence: ratio,
  summary: z.string(),
  reasons: z.array(VerdictReason),
  data_quality: DataQuality,
});
export type AnalysisResult = z.infer<typeof AnalysisResult>;
