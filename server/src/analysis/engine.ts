import type {
  AnalysisResult,
  AnalysisSettings,
  DataQuality,
  MetricName,
  MetricValues,
  ReasonRule,
  VerdictReason,
  VerdictValue,
} from "@seqpulse/types";

export interface AnalysisInput {
  /** Valid baseline samples, in time order. */
  baseline: MetricValues[];
  /** Valid post samples (after warmup), in time order. */
  post: MetricValues[];
  /** Samples that could not be collected or were invalid. */
  failures: { phase: "baseline" | "post"; kind: "transient" | "permanent" | "invalid" }[];
  /** How many post samples the window planned. */
  plannedPostSamples: number;
  settings: AnalysisSettings;
}

type CeilingMetric = "error_rate" | "latency_p95" | "cpu_usage" | "memory_usage";
type Severity = VerdictReason["severity"];

/** Order in which metrics are checked, which is also the order of reasons with equal severity and rule. */
const CEILING_METRICS: readonly CeilingMetric[] = ["error_rate", "latency_p95", "cpu_usage", "memory_usage"];

/**
 * One bad sample on its own (a scrape glitch, a GC pause) never recommends a rollback: a critical
 * finding needs at least this many offending post samples. Fail-fast uses the same floor (the
 * settings schema refuses a smaller `fail_fast_consecutive`; the engine does not rely on it).
 */
const MIN_SAMPLES_FOR_ROLLBACK = 2;

const RULE_RANK: Record<ReasonRule, number> = {
  fail_fast: 0,
  insufficient_data: 1,
  absolute_limit: 2,
  traffic_drop: 3,
  regression: 4,
};

export function analyze(input: AnalysisInput): AnalysisResult {
  const { baseline, post, settings } = input;
  const failFast = failFastReasons(post, baseline, settings);
  const requiredPost = requiredPostSamples(settings, input.plannedPostSamples);
  // A window cut by fail-fast is short on purpose: its samples are evidence, not missing data.
  const tooFewPost = post.length < requiredPost && failFast.length === 0;

  const dataReasons: VerdictReason[] = [];
  if (baseline.length === 0) dataReasons.push(missingBaselineReason(input));
  if (tooFewPost) dataReasons.push(tooFewPostReason(input, requiredPost));

  let metricReasons = strongestPerMetric([...failFast, ...metricFindings(baseline, post, settings)]);
  if (tooFewPost) metricReasons = metricReasons.map(capToWarning);

  const reasons = [...dataReasons, ...metricReasons].sort(
    (a, b) => severityRank(a.severity) - severityRank(b.severity) || RULE_RANK[a.rule] - RULE_RANK[b.rule],
  );
  const verdict: VerdictValue = reasons.some((r) => r.severity === "critical")
    ? "rollback_recommended"
    : reasons.length > 0
      ? "warning"
      : "ok";
  const dataQuality = assessDataQuality(input, requiredPost, failFast.length > 0);

  return {
    verdict,
    confidence: confidenceOf(dataQuality.score, baseline.length, post.length),
    summary: summarize(verdict, reasons, input),
    reasons,
    data_quality: dataQuality,
  };
}

/** True when a critical metric is at fail-fast level in the latest consecutive post samples. */
export function shouldFailFast(
  post: MetricValues[],
  baseline: MetricValues[],
  settings: AnalysisSettings,
): boolean {
  return failFastReasons(post, baseline, settings).length > 0;
}

function requiredPostSamples(settings: AnalysisSettings, plannedPostSamples: number): number {
  return Math.max(settings.min_post_samples, Math.ceil(settings.min_post_ratio * plannedPostSamples));
}

function failFastReasons(
  post: MetricValues[],
  baseline: MetricValues[],
  settings: AnalysisSettings,
): VerdictReason[] {
  if (!settings.fail_fast_enabled) return [];
  const consecutive = Math.max(settings.fail_fast_consecutive, MIN_SAMPLES_FOR_ROLLBACK);
  if (post.length < consecutive) return [];
  const latest = post.slice(-consecutive);
  const reasons: VerdictReason[] = [];

  for (const metric of CEILING_METRICS) {
    if (!settings[metric].critical) continue;
    const threshold = cleanProduct(
      settings[metric].limit * settings.safety_factor * settings.fail_fast_factor,
    );
    const latestValues = latest.map((s) => s[metric]);
    if (!latestValues.every((v) => v >= threshold)) continue;
    const lowest = Math.min(...latestValues);
    reasons.push(
      makeReason({
        metric,
        rule: "fail_fast",
        baseline: medianOrNull(baseline, metric),
        observed: lowest,
        threshold,
        exceed_ratio: shareOf(post, (s) => s[metric] >= threshold),
        tolerance: null,
        severity: "critical",
        message:
          `${metric} was at or above fail-fast threshold ${formatValue(metric, threshold)} ` +
          `(limit × safety ${settings.safety_factor} × ${settings.fail_fast_factor}) ` +
          `in the last ${consecutive} consecutive post samples (lowest ${formatValue(metric, lowest)})`,
      }),
    );
  }

  const traffic = settings.requests_per_sec;
  const baselineRps = medianOrNull(baseline, "requests_per_sec");
  if (traffic.critical && baselineRps !== null && baselineRps >= traffic.min_baseline_rps) {
    // No absolute limit exists for traffic, so fail-fast amplifies the allowed drop instead; capped at 100 %
    // so that traffic falling to zero always qualifies.
    const failFastDrop = Math.min(1, traffic.max_drop * settings.fail_fast_factor);
    const floor = cleanProduct(baselineRps * (1 - failFastDrop));
    const latestRps = latest.map((s) => s.requests_per_sec);
    if (latestRps.every((v) => v <= floor)) {
      const highest = Math.max(...latestRps);
      reasons.push(
        makeReason({
          metric: "requests_per_sec",
          rule: "fail_fast",
          baseline: baselineRps,
          observed: highest,
          threshold: floor,
          exceed_ratio: shareOf(post, (s) => s.requests_per_sec <= floor),
          tolerance: null,
          severity: "critical",
          message:
            `requests_per_sec was at or below fail-fast floor ${formatValue("requests_per_sec", floor)} ` +
            `(${formatPercent(failFastDrop)} below baseline ${formatValue("requests_per_sec", baselineRps)}) ` +
            `in the last ${consecutive} consecutive post samples (highest ${formatValue("requests_per_sec", highest)})`,
        }),
      );
    }
  }
  return reasons;
}

function metricFindings(
  baseline: MetricValues[],
  post: MetricValues[],
  settings: AnalysisSettings,
): VerdictReason[] {
  if (post.length === 0) return [];
  const findings: VerdictReason[] = [];
  for (const metric of CEILING_METRICS) {
    const baselineMedian = medianOrNull(baseline, metric);
    const breach = absoluteLimitReason(metric, baselineMedian, post, settings);
    if (breach) findings.push(breach);
    if (baselineMedian === null) continue;
    const regression = regressionReason(metric, baselineMedian, post, settings);
    if (regression) findings.push(regression);
  }
  const drop = trafficDropReason(baseline, post, settings);
  if (drop) findings.push(drop);
  return findings;
}

/** A breach counts when the share of post samples strictly above limit × safety_factor is MORE than the tolerance. */
function absoluteLimitReason(
  metric: CeilingMetric,
  baselineMedian: number | null,
  post: MetricValues[],
  settings: AnalysisSettings,
): VerdictReason | null {
  const metricSettings = settings[metric];
  const threshold = cleanProduct(metricSettings.limit * settings.safety_factor);
  const breaching = post.map((s) => s[metric]).filter((v) => v > threshold);
  const share = breaching.length / post.length;
  if (share <= metricSettings.tolerance) return null;

  const observed = median(breaching);
  const { severity, caveat } = persistenceSeverity(metricSettings.critical, breaching.length);
  return makeReason({
    metric,
    rule: "absolute_limit",
    baseline: baselineMedian,
    observed,
    threshold,
    exceed_ratio: share,
    tolerance: metricSettings.tolerance,
    severity,
    message:
      `${metric} ${formatValue(metric, observed)} exceeded limit ${formatValue(metric, threshold)} ` +
      `in ${breaching.length} of ${post.length} post samples (tolerance ${formatPercent(metricSettings.tolerance)})${caveat}`,
  });
}

/**
 * Detected on the post median, so one outlier cannot create a regression; the threshold needs both the
 * ratio and the absolute increase, which keeps near-zero baselines from flagging noise (and never divides).
 * A regression is relative to a possibly short, noisy baseline, so on a critical metric it only recommends
 * rollback when it also persists like a limit breach: more than `tolerance` of the post samples, and at
 * least MIN_SAMPLES_FOR_ROLLBACK of them, are at or above the threshold. Otherwise it warns.
 */
function regressionReason(
  metric: CeilingMetric,
  baselineMedian: number,
  post: MetricValues[],
  settings: AnalysisSettings,
): VerdictReason | null {
  const metricSettings = settings[metric];
  const threshold = cleanProduct(
    Math.max(
      baselineMedian * metricSettings.regression_min_ratio,
      baselineMedian + metricSettings.regression_min_delta,
    ),
  );
  const postMedian = median(post.map((s) => s[metric]));
  if (postMedian < threshold) return null;

  const regressedCount = post.filter((s) => s[metric] >= threshold).length;
  const share = regressedCount / post.length;
  const persistent = share > metricSettings.tolerance;
  const { severity, caveat } = persistenceSeverity(metricSettings.critical && persistent, regressedCount);
  return makeReason({
    metric,
    rule: "regression",
    baseline: baselineMedian,
    observed: postMedian,
    threshold,
    exceed_ratio: share,
    tolerance: metricSettings.tolerance,
    severity,
    message:
      `${metric} regressed from baseline ${formatValue(metric, baselineMedian)} to median ${formatValue(metric, postMedian)}, ` +
      `at or above regression threshold ${formatValue(metric, threshold)} ` +
      `(×${roundSignificant(metricSettings.regression_min_ratio)} and +${formatValue(metric, metricSettings.regression_min_delta)}) ` +
      `in ${regressedCount} of ${post.length} post samples (tolerance ${formatPercent(metricSettings.tolerance)})${caveat}`,
  });
}

/** Traffic drops only mean something when the baseline had real traffic; a drop is strictly more than max_drop. */
function trafficDropReason(
  baseline: MetricValues[],
  post: MetricValues[],
  settings: AnalysisSettings,
): VerdictReason | null {
  const traffic = settings.requests_per_sec;
  const baselineRps = medianOrNull(baseline, "requests_per_sec");
  if (baselineRps === null || baselineRps < traffic.min_baseline_rps) return null;

  const floor = cleanProduct(baselineRps * (1 - traffic.max_drop));
  const dropped = post.map((s) => s.requests_per_sec).filter((v) => v < floor);
  const share = dropped.length / post.length;
  if (share <= traffic.tolerance) return null;

  const observed = median(dropped);
  const { severity, caveat } = persistenceSeverity(traffic.critical, dropped.length);
  return makeReason({
    metric: "requests_per_sec",
    rule: "traffic_drop",
    baseline: baselineRps,
    observed,
    threshold: floor,
    exceed_ratio: share,
    tolerance: traffic.tolerance,
    severity,
    message:
      `requests_per_sec dropped to ${formatValue("requests_per_sec", observed)}, below ${formatValue("requests_per_sec", floor)} ` +
      `(more than ${formatPercent(traffic.max_drop)} under baseline ${formatValue("requests_per_sec", baselineRps)}) ` +
      `in ${dropped.length} of ${post.length} post samples (tolerance ${formatPercent(traffic.tolerance)})${caveat}`,
  });
}

function persistenceSeverity(
  critical: boolean,
  offendingSamples: number,
): { severity: Severity; caveat: string } {
  if (!critical) return { severity: "warning", caveat: "" };
  if (offendingSamples >= MIN_SAMPLES_FOR_ROLLBACK) return { severity: "critical", caveat: "" };
  return { severity: "warning", caveat: "; a single sample is not enough to recommend rollback" };
}

/** Keeps one reason per metric, the most severe (then by rule rank), so the log lists distinct problems. */
function strongestPerMetric(reasons: VerdictReason[]): VerdictReason[] {
  const strongest = new Map<MetricName | null, VerdictReason>();
  for (const reason of reasons) {
    const kept = strongest.get(reason.metric);
    const stronger =
      !kept ||
      severityRank(reason.severity) < severityRank(kept.severity) ||
      (reason.severity === kept.severity && RULE_RANK[reason.rule] < RULE_RANK[kept.rule]);
    if (stronger) strongest.set(reason.metric, reason);
  }
  return reasons.filter((reason) => strongest.get(reason.metric) === reason);
}

function capToWarning(reason: VerdictReason): VerdictReason {
  if (reason.severity === "warning") return reason;
  return {
    ...reason,
    severity: "warning",
    message: `${reason.message}; too few post samples to recommend rollback`,
  };
}

function missingBaselineReason(input: AnalysisInput): VerdictReason {
  const failed = input.failures.filter((f) => f.phase === "baseline").length;
  return makeReason({
    metric: null,
    rule: "insufficient_data",
    baseline: null,
    observed: 0,
    threshold: 1,
    exceed_ratio: null,
    tolerance: null,
    severity: "warning",
    message:
      `no valid baseline samples (0 valid, ${failed} failed); ` +
      "regression and traffic drop could not be judged",
  });
}

function tooFewPostReason(input: AnalysisInput, required: number): VerdictReason {
  const { settings, post, plannedPostSamples } = input;
  const failed = input.failures.filter((f) => f.phase === "post").length;
  return makeReason({
    metric: null,
    rule: "insufficient_data",
    baseline: null,
    observed: post.length,
    threshold: required,
    exceed_ratio: null,
    tolerance: null,
    severity: "warning",
    message:
      `only ${pluralize(post.length, "valid post sample")} (${failed} failed), at least ${required} required ` +
      `(minimum ${settings.min_post_samples}, ${formatPercent(settings.min_post_ratio)} of ${plannedPostSamples} planned)`,
  });
}

/**
 * Score = share of collection attempts that produced a valid sample, per phase, with post weighted
 * twice the baseline (the verdict is mostly about post). A phase with no valid sample scores 0.
 */
function assessDataQuality(input: AnalysisInput, requiredPost: number, failedFast: boolean): DataQuality {
  const { baseline, post, failures, plannedPostSamples } = input;
  const issues: string[] = [];
  const yieldOf = (phase: "baseline" | "post", valid: number): number => {
    const phaseFailures = failures.filter((f) => f.phase === phase);
    if (phaseFailures.length > 0) {
      issues.push(
        `${phase}: ${phaseFailures.length} of ${valid + phaseFailures.length} samples unusable (${describeFailures(phaseFailures)})`,
      );
    }
    const attempts = valid + phaseFailures.length;
    return attempts === 0 ? 0 : valid / attempts;
  };
  const baselineYield = yieldOf("baseline", baseline.length);
  const postYield = yieldOf("post", post.length);

  if (baseline.length === 0) issues.push("no valid baseline samples");
  if (failedFast && post.length < plannedPostSamples) {
    issues.push(
      `window cut short by fail-fast after ${post.length} of ${plannedPostSamples} planned post samples`,
    );
  } else if (post.length < requiredPost) {
    issues.push(`only ${post.length} valid post samples, ${requiredPost} required`);
  }
  return { score: roundTo(3, (baselineYield + 2 * postYield) / 3), issues };
}

function describeFailures(failures: AnalysisInput["failures"]): string {
  const labels = { transient: "transient", permanent: "permanent", invalid: "invalid values" } as const;
  return (["transient", "permanent", "invalid"] as const)
    .map((kind) => [kind, failures.filter((f) => f.kind === kind).length] as const)
    .filter(([, count]) => count > 0)
    .map(([kind, count]) => `${count} ${labels[kind]}`)
    .join(", ");
}

/**
 * Data quality scaled by saturating sample-count factors n / (n + 1): more valid samples always raise
 * confidence, with diminishing returns. The baseline counts for half, so a missing baseline halves it.
 */
function confidenceOf(qualityScore: number, baselineCount: number, postCount: number): number {
  const postFactor = postCount / (postCount + 1);
  const baselineFactor = 0.5 + 0.5 * (baselineCount / (baselineCount + 1));
  return roundTo(3, qualityScore * postFactor * baselineFactor);
}

function summarize(verdict: VerdictValue, reasons: VerdictReason[], input: AnalysisInput): string {
  const [main, ...others] = reasons;
  if (verdict === "ok" || !main) {
    const failed = input.failures.length;
    const failureNote = failed > 0 ? `, ${pluralize(failed, "collection failure")}` : "";
    return (
      `OK: ${pluralize(input.post.length, "post sample")} within limits and consistent with baseline ` +
      `(${pluralize(input.baseline.length, "baseline sample")}${failureNote}).`
    );
  }
  const label = verdict === "rollback_recommended" ? "Rollback recommended" : "Warning";
  const more = others.length > 0 ? `; ${pluralize(others.length, "more reason")}` : "";
  return `${label}: ${main.message}${more}.`;
}

function makeReason(reason: VerdictReason): VerdictReason {
  return {
    ...reason,
    baseline: roundOrNull(reason.baseline),
    observed: roundOrNull(reason.observed),
    threshold: roundOrNull(reason.threshold),
    exceed_ratio: roundOrNull(reason.exceed_ratio),
    tolerance: roundOrNull(reason.tolerance),
  };
}

function severityRank(severity: Severity): number {
  return severity === "critical" ? 0 : 1;
}

function median(values: readonly number[]): number {
  const sorted = values.toSorted((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle];
  if (upper === undefined) throw new Error("median of an empty list");
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? upper) + upper) / 2;
}

function medianOrNull(samples: MetricValues[], metric: MetricName): number | null {
  return samples.length === 0 ? null : median(samples.map((s) => s[metric]));
}

function shareOf(samples: MetricValues[], matches: (sample: MetricValues) => boolean): number {
  return samples.filter(matches).length / samples.length;
}

/** Thresholds like 0.01 × 0.9 come out as 0.009000000000000001; a sample of exactly 0.009 must compare equal. */
function cleanProduct(value: number): number {
  return Number(value.toPrecision(12));
}

function roundSignificant(value: number): number {
  return Number(value.toPrecision(4));
}

function roundOrNull(value: number | null): number | null {
  return value === null ? null : roundSignificant(value);
}

function roundTo(decimals: number, value: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function formatValue(metric: MetricName, value: number): string {
  if (metric === "latency_p95") return `${roundSignificant(value)} ms`;
  if (metric === "requests_per_sec") return `${roundSignificant(value)} req/s`;
  return formatPercent(value);
}

function formatPercent(ratio: number): string {
  return `${roundSignificant(ratio * 100)}%`;
}

function pluralize(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
