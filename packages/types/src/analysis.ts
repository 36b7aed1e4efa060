import { z } from "zod";
import { MetricName, VerdictValue } from "./enums.js";
import { CUSTOM_METRIC_PATTERN } from "./metrics-contract.js";

const ratio = z.number().min(0).max(1);

/**
 * Settings are stored per project as JSON. Fields added after a project was created are filled
 * with their default when the stored object is parsed (`AnalysisSettings.parse(stored)`), so the
 * settings of existing projects keep parsing; the patch schemas have no defaults, so a patch only
 * changes what it names.
 */
const ceilingShape = {
  /** Absolute limit, in the metric's unit (ms for latency_p95, 0..1 for the rest). */
  limit: z.number().positive(),
  /** Share of post samples that may breach before the breach counts. */
  tolerance: ratio,
  /** A critical metric recommends rollback; others only warn. */
  critical: z.boolean(),
  /** Regression against the baseline: both the ratio and the absolute increase must be reached. */
  regression_min_ratio: z.number().min(1),
  regression_min_delta: z.number().min(0),
};

/** Limit rule for a metric that is bad when high (latency, cpu, memory). */
export const CeilingMetricSettings = z.object(ceilingShape).strict();
export type CeilingMetricSettings = z.infer<typeof CeilingMetricSettings>;

const errorRateExtras = {
  /**
   * An error regression also needs at least this many errors above what the baseline's rate
   * predicts for the post requests: 1 error in 20 requests is not an incident.
   */
  min_excess_errors: z.number().min(0),
};

/** Like a ceiling metric, judged on request and error counts when they are known. */
export const ErrorRateSettings = z
  .object({ ...ceilingShape, min_excess_errors: errorRateExtras.min_excess_errors.default(10) })
  .strict();
export type ErrorRateSettings = z.infer<typeof ErrorRateSettings>;

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

/** The metrics contract's pattern for custom metric names (kept under this name for its importers). */
export const CUSTOM_METRIC_NAME_PATTERN = CUSTOM_METRIC_PATTERN;
export const MAX_CUSTOM_METRIC_RULES = 50;

export const metricDirections = ["higher_is_worse", "lower_is_worse"] as const;
export const MetricDirection = z.enum(metricDirections);
export type MetricDirection = z.infer<typeof MetricDirection>;

const customRuleShape = {
  direction: MetricDirection,
  /** Absolute limit, used as given (the safety factor applies to the five built-in metrics only): a ceiling when higher is worse, a floor when lower is worse. */
  limit: z.number().nullable(),
  /** A critical custom metric recommends rollback; others only warn. */
  critical: z.boolean(),
  /** Share of post samples that may be past the limit before it counts. */
  tolerance: ratio,
  /** A regression needs the metric to be worse than the baseline by both this ratio and this amount. */
  regression_min_ratio: z.number().min(1),
  regression_min_delta: z.number().min(0),
};

/** How the project wants a custom metric judged; a custom metric without a rule is stored, not judged. */
export const CustomMetricRule = z
  .object({
    direction: customRuleShape.direction,
    limit: customRuleShape.limit.default(null),
    critical: customRuleShape.critical.default(false),
    tolerance: customRuleShape.tolerance.default(0.2),
    regression_min_ratio: customRuleShape.regression_min_ratio.default(1.5),
    regression_min_delta: customRuleShape.regression_min_delta.default(0),
  })
  .strict();
export type CustomMetricRule = z.infer<typeof CustomMetricRule>;

export const CustomMetricName = z
  .string()
  .regex(CUSTOM_METRIC_PATTERN, `must match ${CUSTOM_METRIC_PATTERN.source}`)
  .refine(
    (name) => !(MetricName.options as readonly string[]).includes(name),
    "is one of the five built-in metrics, which have their own settings",
  );

const customMetricRules = z
  .record(CustomMetricName, CustomMetricRule)
  .refine(
    (rules) => Object.keys(rules).length <= MAX_CUSTOM_METRIC_RULES,
    `at most ${MAX_CUSTOM_METRIC_RULES} custom metrics`,
  );

const v2Shape = {
  /** One-sided significance level of every statistical test (0.01: 1 % false alarms per test). */
  significance_level: z.number().gt(0).max(0.2),
  /** Post slots failing in a row, after the endpoint had answered, that make a reason of their own. */
  consecutive_error_limit: z
    .number()
    .int()
    .min(2, "must be at least 2: one failed sample on its own is not evidence"),
  /** Record verdicts as usual, marked `dry_run`: gates print what would have happened but never fail. */
  dry_run: z.boolean(),
  /**
   * A window too small to have caught errors ×5 or a 60 % traffic drop is a warning (inconclusive,
   * with what would have been needed) instead of an ok with data_quality.detection_limits.
   */
  require_detection: z.boolean(),
};

export const AnalysisSettings = z
  .object({
    /** Limits are multiplied by this factor before comparing (0.9 = alert at 90 % of the limit). */
    safety_factor: z.number().gt(0).max(1),
    latency_p95: CeilingMetricSettings,
    error_rate: ErrorRateSettings,
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
    significance_level: v2Shape.significance_level.default(0.01),
    consecutive_error_limit: v2Shape.consecutive_error_limit.default(4),
    dry_run: v2Shape.dry_run.default(false),
    require_detection: v2Shape.require_detection.default(false),
    /** Rules for custom metrics, by name. A patch replaces the whole map. */
    custom_metrics: customMetricRules.default({}),
  })
  .strict();
export type AnalysisSettings = z.infer<typeof AnalysisSettings>;
/** Settings as stored or sent: fields added in engine 2 may be missing and take their default. */
export type AnalysisSettingsInput = z.input<typeof AnalysisSettings>;

export const DEFAULT_ANALYSIS_SETTINGS: AnalysisSettings = {
  safety_factor: 0.9,
  latency_p95: {
    limit: 300,
    tolerance: 0.2,
    critical: false,
    regression_min_ratio: 1.25,
    regression_min_delta: 50,
  },
  error_rate: {
    limit: 0.01,
    tolerance: 0.05,
    critical: true,
    regression_min_ratio: 1.5,
    regression_min_delta: 0.001,
    min_excess_errors: 10,
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
  requests_per_sec: { max_drop: 0.2, min_baseline_rps: 0.1, tolerance: 0.2, critical: true },
  min_post_samples: 3,
  min_post_ratio: 0.6,
  fail_fast_enabled: true,
  fail_fast_factor: 2,
  fail_fast_consecutive: 2,
  significance_level: 0.01,
  consecutive_error_limit: 4,
  dry_run: false,
  require_detection: false,
  custom_metrics: {},
};

/** Partial override accepted by the admin API; merged over the defaults per metric. */
export const AnalysisSettingsPatch = z
  .object({
    safety_factor: AnalysisSettings.shape.safety_factor,
    latency_p95: CeilingMetricSettings.partial(),
    error_rate: z
      .object({ ...ceilingShape, ...errorRateExtras })
      .strict()
      .partial(),
    cpu_usage: CeilingMetricSettings.partial(),
    memory_usage: CeilingMetricSettings.partial(),
    requests_per_sec: TrafficSettings.partial(),
    min_post_samples: AnalysisSettings.shape.min_post_samples,
    min_post_ratio: AnalysisSettings.shape.min_post_ratio,
    fail_fast_enabled: AnalysisSettings.shape.fail_fast_enabled,
    fail_fast_factor: AnalysisSettings.shape.fail_fast_factor,
    fail_fast_consecutive: AnalysisSettings.shape.fail_fast_consecutive,
    significance_level: v2Shape.significance_level,
    consecutive_error_limit: v2Shape.consecutive_error_limit,
    dry_run: v2Shape.dry_run,
    require_detection: v2Shape.require_detection,
    custom_metrics: customMetricRules,
  })
  .partial()
  .strict();
export type AnalysisSettingsPatch = z.infer<typeof AnalysisSettingsPatch>;
/** A patch as sent (custom metric rules may omit fields that have defaults). */
export type AnalysisSettingsPatchInput = z.input<typeof AnalysisSettingsPatch>;

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
    custom_metrics: patch.custom_metrics ?? base.custom_metrics,
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

/** Where a baseline observation comes from: a sample of the endpoint, a history bucket, or the last `ok` deployment. */
export const observationSources = ["sample", "history", "last_known_good"] as const;
export const ObservationSource = z.enum(observationSources);
export type ObservationSource = z.infer<typeof ObservationSource>;

export const reasonRules = [
  "absolute_limit",
  "regression",
  "traffic_drop",
  "fail_fast",
  "insufficient_data",
  "trend",
  "endpoint_failures",
  "inconclusive",
] as const;
export const ReasonRule = z.enum(reasonRules);
export type ReasonRule = z.infer<typeof ReasonRule>;

/** The statistical test behind a reason's `statistic` and `p_value`. */
export const statisticalTests = [
  /** Exact conditional binomial test of two Poisson rates (errors or requests per exposure); statistic: post count. */
  "poisson_rate_ratio",
  /** Exact binomial test of the post error count against the limit; statistic: post error count. */
  "binomial_limit",
  /** Mann-Whitney U of post against baseline observations; statistic: U of the post observations. */
  "mann_whitney_u",
  /** Kendall's tau of the metric against time over the post observations; statistic: tau-b. */
  "kendall_tau",
] as const;
export const StatisticalTest = z.enum(statisticalTests);
export type StatisticalTest = z.infer<typeof StatisticalTest>;

/** What an inconclusive or insufficient verdict would have needed to decide. */
export const EvidenceNeeded = z
  .object({
    baseline_observations: z.number().int().nullable(),
    post_observations: z.number().int().nullable(),
  })
  .strict();
export type EvidenceNeeded = z.infer<typeof EvidenceNeeded>;

export const VerdictReason = z.object({
  /** One of the five metrics, a custom metric's name, or null for reasons about the data. */
  metric: z.string().nullable(),
  rule: ReasonRule,
  baseline: z.number().nullable(),
  observed: z.number().nullable(),
  threshold: z.number().nullable(),
  /** Share of post samples that broke the rule. */
  exceed_ratio: z.number().nullable(),
  tolerance: z.number().nullable(),
  severity: z.enum(["warning", "critical"]),
  message: z.string(),
  /** Engine 2 and later (absent on older verdicts): the test used, its statistic and one-sided p-value. */
  test: StatisticalTest.nullable().optional(),
  statistic: z.number().nullable().optional(),
  p_value: ratio.nullable().optional(),
  /** On `inconclusive` and `insufficient_data` reasons: the evidence that would have decided. */
  needed: EvidenceNeeded.nullable().optional(),
});
export type VerdictReason = z.infer<typeof VerdictReason>;

export const hintCodes = [
  "degraded_dependency",
  "saturation",
  "partial_outage",
  "memory_leak",
  "app_not_serving",
  "error_regression",
  "latency_regression",
  "traffic_loss",
  "resource_pressure",
  "warm_up",
  "preexisting_problem",
  "custom_metric",
  "not_enough_evidence",
] as const;
export const HintCode = z.enum(hintCodes);
export type HintCode = z.infer<typeof HintCode>;

/** A likely cause behind the reasons, with what an on-call engineer would check first. */
export const DiagnosisHint = z.object({
  code: HintCode,
  title: z.string(),
  metrics: z.array(z.string()),
  actions: z.array(z.string()),
});
export type DiagnosisHint = z.infer<typeof DiagnosisHint>;

/**
 * How small a change of a count-judged metric this window could have recommended for rollback, when
 * that is short of what a gate must always catch (errors ×5 the baseline's rate, traffic −60 %).
 */
export const DetectionLimit = z.object({
  metric: z.enum(["error_rate", "requests_per_sec"]),
  /** The baseline's error rate, or its traffic (requests per second). */
  baseline: z.number(),
  /** The value the window was checked against: the error rate ×5 the baseline's, or the baseline's traffic −60 %. */
  guarded: z.number(),
  /** The error rate at or above (traffic at or below) which a rollback would have been recommended; null when none. */
  rollback_at: z.number().nullable(),
  /** Requests the post window judged. */
  post_requests: z.number(),
  /** Post requests (a longer window) that would have caught the guarded value; null when no number would (a single baseline point limits it). */
  needed_post_requests: z.number().int().nullable(),
});
export type DetectionLimit = z.infer<typeof DetectionLimit>;

export const DataQuality = z.object({
  score: ratio,
  issues: z.array(z.string()),
  /** Engine 2.1 and later: metrics this window was too small to guard (see DetectionLimit). */
  detection_limits: z.array(DetectionLimit).optional(),
});
export type DataQuality = z.infer<typeof DataQuality>;

export const AnalysisResult = z.object({
  verdict: VerdictValue,
  confidence: ratio,
  summary: z.string(),
  reasons: z.array(VerdictReason),
  data_quality: DataQuality,
  /** Engine 2 and later (absent on older verdicts): diagnosis hints, on every non-ok verdict. */
  hints: z.array(DiagnosisHint).optional(),
  /** The engine that made the verdict; absent on verdicts of engine 1. */
  engine_version: z.string().optional(),
  /** The project was in dry run: recorded, but no gate fails on it. */
  dry_run: z.boolean().optional(),
});
export type AnalysisResult = z.infer<typeof AnalysisResult>;
